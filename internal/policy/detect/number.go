package detect

import (
	"net/netip"
)

// A number window is a run of digit groups joined by single separators
// (" ", "-", ".", "/", "(", ")", " (", ") "), such as "4111 1111 1111 1111",
// "(415) 555-2671" or "192.168.0.1". Sub-windows of consecutive groups are
// tried against the numeric detectors, longest first.

const (
	maxGroups = 8
	maxDigits = 24
)

type window struct {
	lead   int // index of a '+' or '(' before the first group, or -1
	n      int
	gs, ge [maxGroups]int
	nd     [maxGroups + 1]int // nd[k]: digits in groups before k
	sep    [maxGroups]string  // sep[k]: separator before group k (k >= 1)
	// hash is true when '#' precedes the window ("order #4111...").
	hash bool
	// headAttached and tailAttached are true when the window is glued to
	// a word by '-', '.', '_', '/' or ',' ("INV-2024", "v1.2"), or is a
	// time ("10:30").
	headAttached, tailAttached bool
}

// number handles the digit run at i (with a '+' or '(' at lead, or -1)
// and returns where scanning continues.
func (st *state) number(i, lead int) int {
	t := st.t
	n := len(t)
	j, letters, _ := runEnd(t, i)
	if letters {
		return lead + 1 // not a number: let the main loop see the run
	}
	var w window
	w.lead = lead
	w.gs[0], w.ge[0] = i, j
	w.nd[1] = j - i
	w.n = 1
	for w.n < maxGroups && w.nd[w.n] < maxDigits {
		k := w.ge[w.n-1]
		sep := sepAt(t, k)
		if sep == 0 || k+sep >= n || !isDigit(t[k+sep]) {
			break
		}
		s := k + sep
		e, letters, _ := runEnd(t, s)
		if letters {
			break
		}
		w.gs[w.n], w.ge[w.n] = s, e
		w.sep[w.n] = t[k:s]
		w.nd[w.n+1] = w.nd[w.n] + e - s
		w.n++
	}
	start := i
	if lead >= 0 {
		start = lead
	}
	if p := start - 1; p >= 0 {
		c := t[p]
		switch {
		case c == '#':
			w.hash = true
		case c == '-' || c == '.' || c == '_' || c == '/':
			w.headAttached = p > 0 && isAlnum(t[p-1])
		case c == ',':
			// "1,299" groups thousands; "x,+46 70..." is a CSV field.
			w.headAttached = lead < 0 && p > 0 && isDigit(t[p-1])
		case c == ':':
			w.headAttached = p > 0 && isDigit(t[p-1])
		case c == '$' || c == '\xa3' || c == '\xac': // $, £ and € (last byte)
			w.hash = true
		}
	}
	end := w.ge[w.n-1]
	if end+1 < n {
		c := t[end]
		if (c == '-' || c == '.' || c == '_' || c == '/' || c == ':') && isAlnum(t[end+1]) || c == ',' && isDigit(t[end+1]) {
			w.tailAttached = true
		}
	}
	if end < n && (t[end] == '%') {
		w.tailAttached = true
	}

	// A window scanned again from the second group of the last one
	// (below) only tries the pairs of groups reaching that window's last
	// group or beyond: the others were tried in it, with fewer of the
	// edge rules that refuse a pair (a group joined to what comes before
	// or after), so trying them again finds nothing new. A long run of
	// short groups ("41 41 41 ...", 5 million of them in a 15 MB body)
	// made every group be tried in eight windows, some 30 pairs each:
	// 275 s of CPU.
	tried := -1
	if st.rescan == i && st.rescanEnd > i {
		tried = st.rescanEnd
	}
	for a := 0; a < w.n; {
		if a > 0 && hardSep(w.sep[a]) {
			a++
			continue
		}
		b := min(w.n-1, a+6)
		for ; b >= a; b-- {
			if w.ge[b] < tried {
				b = a - 1
				break
			}
			if b < w.n-1 && hardSep(w.sep[b+1]) && !st.ipv4Only(&w, a, b) {
				continue
			}
			if st.tryWindow(&w, a, b) {
				break
			}
		}
		if b >= a {
			a = b + 1
		} else {
			a++
		}
	}
	// A window cut short by maxGroups or maxDigits may stop inside a
	// value ("0000000000000000000 078-05-1120"): scan again from its
	// second group, so the groups after the cut are tried with theirs.
	if w.n > 1 {
		if sep := sepAt(t, end); sep > 0 && end+sep < n && isDigit(t[end+sep]) {
			st.rescan, st.rescanEnd = w.gs[1], w.gs[w.n-1]
			return w.gs[1]
		}
	}
	return end
}

// sepAt returns the length of the separator at k, or 0.
func sepAt(t string, k int) int {
	if k >= len(t) {
		return 0
	}
	switch t[k] {
	case ' ':
		if k+1 < len(t) && t[k+1] == '(' {
			return 2
		}
		return 1
	case ')':
		if k+1 < len(t) && t[k+1] == ' ' {
			return 2
		}
		return 1
	case '-', '.', '/', '(':
		return 1
	}
	return 0
}

// hardSep reports whether a window may not be split at sep: decimals,
// versions, dates and fractions are joined by '.' and '/'.
func hardSep(sep string) bool { return sep == "." || sep == "/" }

func (st *state) ipv4Only(w *window, a, b int) bool { return b-a == 3 }

// tryWindow tries the detectors on groups a..b and reports a match.
func (st *state) tryWindow(w *window, a, b int) bool {
	t := st.t
	digits := w.nd[b+1] - w.nd[a]
	start, end := w.gs[a], w.ge[b]
	headAtt := a == 0 && w.headAttached
	tailAtt := b == w.n-1 && w.tailAttached

	// IPv4: four dot-joined groups; ":port" and "/prefix" may follow.
	if b-a == 3 && st.m&IP != 0 && !headAtt && w.sep[a+1] == "." && w.sep[a+2] == "." && w.sep[a+3] == "." &&
		(a == 0 || w.sep[a] != ".") && (b == w.n-1 || w.sep[b+1] != ".") {
		if ip, err := netip.ParseAddr(t[start:end]); err == nil {
			// A network written with its prefix ("10.0.0.0/8") names
			// no host.
			network := ip.As4()[3] == 0 && end+1 < len(t) && t[end] == '/' && isDigit(t[end+1])
			if class := addrClass(ip); class != "" && !network {
				st.add(start, end, class, KindIPv4)
			}
			return true
		}
	}
	// '#' (or a currency sign) marks only the number right after it.
	hash := a == 0 && w.hash
	if st.m&Medical != 0 && hash && a == b && !headAtt && !tailAtt && digits >= 5 && digits <= 12 && mrnContext(t, w.gs[a]-1) {
		// "MRN#49011834"
		st.add(start, end, ClassMedical, KindMRN)
		return true
	}
	if headAtt || tailAtt || hash {
		return false
	}
	for k := a + 1; k <= b; k++ {
		if hardSep(w.sep[k]) && !allSep(w, a, b, ".") {
			return false
		}
	}

	if st.m&Card != 0 && digits >= 13 && digits <= 19 && cardGroups(w, a, b) {
		var buf [maxDigits]byte
		d := w.digits(t, a, b, buf[:0])
		if luhn(d) && cardIssuer(d) {
			st.add(start, end, ClassCard, KindCard)
			return true
		}
	}
	if st.m&NationalID != 0 && digits == 9 && st.ssn(w, a, b) {
		st.add(start, end, ClassNationalID, KindSSN)
		return true
	}
	if st.m&Medical != 0 {
		if digits == 10 && (a == b || b-a == 2 && w.ge[a]-w.gs[a] == 3 && w.ge[a+1]-w.gs[a+1] == 3) &&
			contextBefore(t, start, 40, nhsWords) {
			var buf [maxDigits]byte
			if nhsValid(w.digits(t, a, b, buf[:0])) {
				st.add(start, end, ClassMedical, KindNHS)
				return true
			}
		}
		if a == b && digits >= 5 && digits <= 12 && mrnContext(t, start) {
			st.add(start, end, ClassMedical, KindMRN)
			return true
		}
	}
	if st.m&Phone != 0 {
		if s := st.phone(w, a, b, digits); s >= 0 {
			st.add(s, end, ClassPhone, KindPhone)
			return true
		}
	}
	return false
}

func allSep(w *window, a, b int, sep string) bool {
	for k := a + 1; k <= b; k++ {
		if w.sep[k] != sep {
			return false
		}
	}
	return true
}

// digits appends the digits of groups a..b to buf.
func (w *window) digits(t string, a, b int, buf []byte) []byte {
	for k := a; k <= b; k++ {
		buf = append(buf, t[w.gs[k]:w.ge[k]]...)
	}
	return buf
}

// cardGroups accepts one group, or groups of 3 to 6 digits joined by the
// same single space or dash (4-4-4-4, 4-6-5, 4-4-4-4-3).
func cardGroups(w *window, a, b int) bool {
	if a == b {
		return true
	}
	sep := w.sep[a+1]
	if sep != " " && sep != "-" {
		return false
	}
	for k := a; k <= b; k++ {
		if k > a && w.sep[k] != sep {
			return false
		}
		if l := w.ge[k] - w.gs[k]; l < 3 || l > 6 {
			return false
		}
	}
	return true
}

var ssnWords = newWordSet("ssn", "social security", "ss#", "soc sec", "taxpayer")

// ssn accepts AAA-GG-SSSS (dashes or spaces) or nine bare digits after a
// context word, with the SSA's validity rules.
func (st *state) ssn(w *window, a, b int) bool {
	t := st.t
	switch {
	case b-a == 2:
		if w.ge[a]-w.gs[a] != 3 || w.ge[a+1]-w.gs[a+1] != 2 || w.sep[a+1] != w.sep[a+2] || w.sep[a+1] != "-" && w.sep[a+1] != " " {
			return false
		}
		if w.sep[a+1] == " " && !contextBefore(t, w.gs[a], 40, ssnWords) {
			return false // "123 45 6789" is too common in tables without a word for it
		}
	case a == b:
		if !contextBefore(t, w.gs[a], 40, ssnWords) {
			return false
		}
	default:
		return false
	}
	var buf [maxDigits]byte
	return ssnValid(w.digits(t, a, b, buf[:0]))
}

var nhsWords = newWordSet("nhs")

var mrnWords = newWordSet("mrn", "medical record", "patient id", "patient number", "patient no", "patient #", "chart number", "chart no",
	"health record", "hospital number", "patientennummer", "patienten-nr", "fallnummer", "n° de dossier", "numéro de dossier",
	"dossier médical", "n° patient", "historia clínica", "número de historia", "cartella clinica", "patiëntnummer")

var phoneWords = newWordSet("phone", "tel", "mobile", "cell", "call", "fax", "whatsapp", "sms", "text me", "contact", "reach me", "telefon",
	"handy", "portable", "numéro", "tél", "mobil", "móvil", "cellulare", "telefono", "teléfono", "bel ", "ring")

// mrnContext reports whether a medical record word occurs within 40 bytes
// before pos with no digit between it and pos: in "MRN 4401, procedure
// code 99213" only 4401 is the record number.
func mrnContext(t string, pos int) bool {
	lo := max(pos-40, 0)
	for k := pos - 1; k >= lo; k-- {
		if isDigit(t[k]) {
			lo = k + 1
			break
		}
	}
	return contextBefore(t, pos, pos-lo, mrnWords)
}

// phone returns the span start of a valid phone number made of groups a..b,
// or -1. International numbers start with '+' (or 00); national ones are
// tried for each configured region and need phone-like grouping, or a
// context word when written as one bare run of digits.
func (st *state) phone(w *window, a, b, digits int) int {
	t := st.t
	start := w.gs[a]
	if a == 0 && w.lead >= 0 {
		start = w.lead
	}
	plus := a == 0 && w.lead >= 0 && t[w.lead] == '+'
	// A dash-joined token is one thing (ISBN 978-0-591-27250-1): never
	// take a phone number out of its middle.
	if a > 0 && w.sep[a] == "-" || b < w.n-1 && w.sep[b+1] == "-" {
		return -1
	}
	for k := a + 1; k <= b; k++ {
		if w.sep[k] == "/" {
			return -1
		}
	}
	var buf [maxDigits + 1]byte
	// A phone word just before ("phone", "tel", "mobile", "tél.") lets a
	// well-formed number through even when its area code is unassigned
	// in libphonenumber's metadata: people write numbers that are not in
	// service yet, fictional or mistyped, and they are still numbers.
	if st.ctxPos != start+1 {
		// The same start is tried with several ends.
		st.ctxPos, st.ctx = start+1, contextBefore(t, start, 32, phoneWords)
	}
	context := st.ctx
	if plus {
		if digits < 7 || digits > 15 {
			return -1
		}
		d := w.digits(t, a, b, buf[:0])
		if validIntl(string(d)) || context && digits >= 8 && knownCallingCode(d) && phoneGrouping(w, a, b) {
			return start
		}
		return -1
	}
	d := w.digits(t, a, b, buf[:0])
	if len(d) > 11 && d[0] == '0' && d[1] == '0' {
		if validIntl(string(d[2:])) {
			return start
		}
		return -1
	}
	if digits < 9 || digits > 12 || len(st.s.regions) == 0 {
		return -1
	}
	if a == b {
		if !context {
			return -1
		}
	} else {
		for k := a; k <= b; k++ {
			l := w.ge[k] - w.gs[k]
			if l < 2 && !(k == a && (d[0] == '1' || d[0] == '0')) {
				return -1 // ISBN-10 "0-306-40615-2", lists "1 2 3"
			}
		}
	}
	num := string(d)
	for _, r := range st.s.regions {
		if st.validNational(num, r) && (a == b || !nanpRegion(r) || nanpGrouping(w, a, b)) {
			return start
		}
	}
	if context && digits >= 9 && digits <= 11 && phoneGrouping(w, a, b) {
		return start
	}
	return -1
}

// nanpRegion reports a region of the North American numbering plan.
func nanpRegion(r string) bool { return r == "US" || r == "CA" }

// nanpGrouping accepts how North American numbers are written: 3-3-4,
// 1-3-3-4, or 3-7, so that a ticket "2025-118842" is not a Washington
// number.
func nanpGrouping(w *window, a, b int) bool {
	var l [maxGroups]int
	n := 0
	for k := a; k <= b; k++ {
		l[n] = w.ge[k] - w.gs[k]
		n++
	}
	switch n {
	case 2:
		return l[0] == 3 && l[1] == 7
	case 3:
		return l[0] == 3 && l[1] == 3 && l[2] == 4
	case 4:
		return l[0] == 1 && l[1] == 3 && l[2] == 3 && l[3] == 4
	}
	return false
}

// phoneGrouping accepts groups of digits joined by one kind of separator
// (space, '.', '-', or parentheses around the first group), as numbers
// are written: "485.459.5429", "07.28.14.71.62", "(415) 555 0187".
func phoneGrouping(w *window, a, b int) bool {
	var sep string
	for k := a + 1; k <= b; k++ {
		s := w.sep[k]
		if s == ")" || s == ") " || s == " (" || s == "(" {
			continue
		}
		if sep == "" {
			sep = s
		} else if s != sep {
			return false
		}
	}
	return true
}

// Address ranges that identify no one: reserved for documentation (RFC
// 5737, RFC 3849) and for benchmarking (RFC 2544).
var notSensitive = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("198.18.0.0/15"),
}

// addrClass returns the class of an address: "" for addresses that
// identify nothing (loopback, unspecified, multicast, broadcast,
// documentation ranges), ip_private for private networks (RFC 1918, ULA,
// link-local, CGNAT 100.64.0.0/10), ip_address otherwise.
func addrClass(ip netip.Addr) string {
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if ip.IsLoopback() || ip.IsUnspecified() || ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return ""
	}
	for _, p := range notSensitive {
		if p.Contains(ip) {
			return ""
		}
	}
	if ip.IsPrivate() || ip.IsLinkLocalUnicast() {
		return ClassIPPrivate
	}
	if ip.Is4() {
		if b := ip.As4(); b[0] == 100 && b[1]&0xc0 == 64 { // 100.64.0.0/10
			return ClassIPPrivate
		}
	}
	return ClassIP
}

// validNational is validNational, remembered for the last numbers tried:
// a text repeating a few digit groups ("41 41 41 ...") asks about the
// same numbers over and over, and each answer is a regular expression
// match per region.
func (st *state) validNational(num, region string) bool {
	if st.natCalls < 64 {
		// Most texts ask about few numbers: no memory for them.
		st.natCalls++
		return validNational(num, region)
	}
	h := uint32(2166136261)
	for i := 0; i < len(num); i++ {
		h = (h ^ uint32(num[i])) * 16777619
	}
	for i := 0; i < len(region); i++ {
		h = (h ^ uint32(region[i])) * 16777619
	}
	if st.nat == nil {
		st.nat = new([64]natEntry)
	}
	e := &st.nat[h%uint32(len(st.nat))]
	if e.set && e.num == num && e.region == region {
		return e.ok
	}
	*e = natEntry{num: num, region: region, ok: validNational(num, region), set: true}
	return e.ok
}

// natEntry is one remembered validNational answer.
type natEntry struct {
	num, region string
	ok, set     bool
}
