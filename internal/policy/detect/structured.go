package detect

import (
	"encoding/base64"
	"net/netip"
	"strings"
)

// iban recognises an IBAN at i, written in one piece or in groups of four
// separated by single spaces, with the country's length and a mod-97
// remainder of 1. It returns the end, or 0.
func (st *state) iban(i int) int {
	t := st.t
	n := len(t)
	// An IBAN typed in lower case ("de89 3704 ...") is the same IBAN;
	// its letters are then all lower case, as they are all upper case
	// otherwise.
	lower := isLower(t[i])
	letter := isUpper
	if lower {
		letter = isLower
	}
	l := int(ibanLengths[[2]byte{t[i] &^ 0x20, t[i+1] &^ 0x20}])
	if l == 0 {
		return 0
	}
	var buf [34]byte
	k, p := 0, i
	var sep byte // ' ' or '-' between groups of four, the same throughout
	for k < l && p < n {
		c := t[p]
		switch {
		case isDigit(c) || letter(c):
			if lower && !isDigit(c) {
				c &^= 0x20
			}
			buf[k] = c
			k++
			p++
			continue
		case (c == ' ' || c == '-') && (sep == 0 || sep == c) && k > 0 && k%4 == 0 && p+1 < n && isAlnum(t[p+1]):
			sep = c
			p++
			continue
		}
		break
	}
	if k != l || p < n && isWordByte(t[p]) || ibanMod97(buf[:l]) != 1 {
		return 0
	}
	st.add(i, p, ClassIBAN, KindIBAN)
	return p
}

// nino recognises a UK National Insurance number: two prefix letters, six
// digits (optionally in spaced pairs) and a suffix A-D.
func (st *state) nino(i int) int {
	t := st.t
	n := len(t)
	if !ninoPrefix(t[i], t[i+1]) {
		return 0
	}
	p := i + 2
	if p < n && t[p] == ' ' {
		p++
	}
	for d := 0; d < 6; {
		switch {
		case p < n && isDigit(t[p]):
			d++
			p++
		case p+1 < n && t[p] == ' ' && d > 0 && d%2 == 0 && isDigit(t[p+1]):
			p++
		default:
			return 0
		}
	}
	if p+1 < n && t[p] == ' ' && t[p+1] >= 'A' && t[p+1] <= 'D' {
		p++
	}
	if p >= n || t[p] < 'A' || t[p] > 'D' {
		return 0
	}
	p++
	if p < n && isWordByte(t[p]) {
		return 0
	}
	st.add(i, p, ClassNationalID, KindNINO)
	return p
}

func b64urlEnd(t string, i int) int {
	for i < len(t) && (isAlnum(t[i]) || t[i] == '-' || t[i] == '_') {
		i++
	}
	return i
}

// jwt recognises header.payload.signature where the header is base64url
// JSON naming an "alg". It returns the end, or 0.
func (st *state) jwt(i int) int {
	t := st.t
	n := len(t)
	e1 := b64urlEnd(t, i)
	if e1-i < 10 || e1-i > 1024 || e1 >= n || t[e1] != '.' {
		return 0
	}
	e2 := b64urlEnd(t, e1+1)
	if e2-e1-1 < 10 || e2 >= n || t[e2] != '.' {
		return 0
	}
	e3 := b64urlEnd(t, e2+1)
	var buf [768]byte
	m, err := base64.RawURLEncoding.Decode(buf[:], []byte(t[i:e1]))
	if err != nil {
		return 0
	}
	h := buf[:m]
	if len(h) < 2 || h[0] != '{' || !strings.Contains(string(h), `"alg"`) {
		return 0
	}
	st.add(i, e3, ClassSecret, KindJWT)
	return e3
}

// pem recognises a PEM private-key block ("-----BEGIN ... PRIVATE KEY-----"
// up to its END line, or to the end of the base64 body when the END line
// is missing). Certificates and public keys are not secrets.
func (st *state) pem(i int) int {
	t := st.t
	n := len(t)
	const begin = "-----BEGIN "
	ls := i + len(begin)
	le := strings.Index(t[ls:min(n, ls+80)], "-----")
	if le < 0 {
		return i + 1
	}
	label := t[ls : ls+le]
	body := ls + le + 5
	if !strings.Contains(label, "PRIVATE KEY") {
		return body
	}
	e := body
	if k := strings.Index(t[body:min(n, body+64<<10)], "-----END "); k >= 0 {
		e = body + k + len("-----END ")
		if k2 := strings.Index(t[e:min(n, e+80)], "-----"); k2 >= 0 {
			e += k2 + 5
		}
	} else {
		for e < n && (isAlnum(t[e]) || strings.IndexByte("+/=\\ \t\r\n:-", t[e]) >= 0) {
			e++
		}
	}
	st.add(i, e, ClassSecret, KindPrivateKey)
	return e
}

func isLocalByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isDomainByte(c byte) bool { return isAlnum(c) || c == '.' || c == '-' }

// email recognises local@domain.tld around the '@' at at.
func (st *state) email(at int) {
	t := st.t
	n := len(t)
	s := at
	for s > 0 && at-s < 64 && isLocalByte(t[s-1]) {
		s--
	}
	for s < at && (t[s] == '.' || t[s] == '-' || t[s] == '+') {
		s++
	}
	if s == at || t[at-1] == '.' || s > 0 && isLocalByte(t[s-1]) {
		return
	}
	e := at + 1
	for e < n && e-at < 254 && isDomainByte(t[e]) {
		e++
	}
	for e > at+1 && (t[e-1] == '.' || t[e-1] == '-') {
		e--
	}
	// "postgres://app@db.internal" is a URL's user, "git@github.com:org/x"
	// an scp-style remote: neither is an address anyone is written to.
	if s >= 3 && t[s-3:s] == "://" || e+1 < n && t[e] == ':' && (isAlnum(t[e+1]) || t[e+1] == '/' || t[e+1] == '~') {
		return
	}
	dom := t[at+1 : e]
	dot := strings.LastIndexByte(dom, '.')
	if dot <= 0 || len(dom)-dot-1 < 2 || dom[0] == '-' || strings.Contains(dom, "..") {
		return
	}
	for k := dot + 1; k < len(dom); k++ {
		if !isLetter(dom[k]) {
			return
		}
	}
	// A no-reply address is a sender of machine mail, written into every
	// coding agent's commit instructions (noreply@anthropic.com); it names
	// nobody and is nobody's personal data.
	if isNoReply(t[s:at]) {
		return
	}
	st.add(s, e, ClassEmail, KindEmail)
}

// isNoReply reports whether an address's local part is a no-reply sender.
func isNoReply(local string) bool {
	switch strings.ToLower(local) {
	case "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply":
		return true
	}
	return false
}

func isHex(c byte) bool { return isDigit(c) || c-'a' < 6 || c-'A' < 6 }

// ipv6 recognises an IPv6 address around the ':' at i.
func (st *state) ipv6(i int) {
	t := st.t
	n := len(t)
	if !(i+1 < n && (isHex(t[i+1]) || t[i+1] == ':') || i > 0 && isHex(t[i-1])) {
		return
	}
	s := i
	for s > 0 && i-s < 40 && (isHex(t[s-1]) || t[s-1] == ':') {
		s--
	}
	if s > 0 && (isWordByte(t[s-1]) || t[s-1] == '.') {
		return
	}
	if s < i && t[s] == ':' && (s+1 >= n || t[s+1] != ':') {
		return
	}
	// Only the first ':' of an address does the work.
	for k := s; k < i; k++ {
		if t[k] == ':' {
			return
		}
	}
	e := i
	for e < n && e-s < 46 && (isHex(t[e]) || t[e] == ':' || t[e] == '.') {
		e++
	}
	for e > i && t[e-1] == '.' {
		e--
	}
	if e < n && isWordByte(t[e]) {
		return
	}
	if e > i+1 && t[e-1] == ':' && t[e-2] != ':' {
		e--
	}
	cand := t[s:e]
	if strings.Count(cand, ":") < 2 {
		return
	}
	if _, d := letterDigit(cand); !d {
		return
	}
	ip, err := netip.ParseAddr(cand)
	if err != nil || !ip.Is6() {
		return
	}
	if class := addrClass(ip); class != "" {
		st.add(s, e, class, KindIPv6)
	}
}
