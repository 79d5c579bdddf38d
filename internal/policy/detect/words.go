package detect

import (
	"strings"
)

// word handles the run t[i:j] of [A-Za-z0-9_] that starts with a letter or
// mixes letters and digits, and returns where scanning continues.
func (st *state) word(i, j int, digits bool) int {
	t := st.t
	m := st.m
	if m&Secret != 0 && secretStart[t[i]] {
		if e := st.secretPrefix(i, j); e > 0 {
			return e
		}
	}
	if m&IBAN != 0 && j-i >= 4 && isLower(t[i]) && isLower(t[i+1]) && isDigit(t[i+2]) && isDigit(t[i+3]) {
		if e := st.iban(i); e > 0 {
			return e
		}
	}
	if isUpper(t[i]) && j-i >= 2 && isUpper(t[i+1]) {
		if m&IBAN != 0 && j-i >= 4 && isDigit(t[i+2]) && isDigit(t[i+3]) {
			if e := st.iban(i); e > 0 {
				return e
			}
		}
		if m&NationalID != 0 && (j-i == 2 || j-i == 9) {
			if e := st.nino(i); e > 0 {
				return e
			}
		}
	}
	if m&Medical != 0 && digits && j-i >= 6 && j-i <= 15 && mrnToken(t[i:j]) && contextBefore(t, i, 40, mrnWords) {
		st.add(i, j, ClassMedical, KindMRN)
		return j
	}
	if m&Secret != 0 && assignAt(t, j) > 0 {
		if e := st.assignment(i, j); e > 0 {
			return e
		}
	}
	return j
}

// secretStart marks the first bytes of the token prefixes secretPrefix
// knows.
var secretStart = func() (t [256]bool) {
	for _, c := range []byte("srAgxhneBb") {
		t[c] = true
	}
	return t
}()

// assignAt returns the index after ':' or '=' when the text at j is an
// assignment operator (after at most three quotes or blanks), or 0.
func assignAt(t string, j int) int {
	for q := 0; q < 4 && j < len(t); q++ {
		switch t[j] {
		case ':', '=':
			return j + 1
		case '"', '\'', '`', ' ', '\t':
			j++
		default:
			return 0
		}
	}
	return 0
}

// mrnToken accepts upper-case letters and at least four digits.
func mrnToken(w string) bool {
	d := 0
	for k := 0; k < len(w); k++ {
		switch {
		case isDigit(w[k]):
			d++
		case !isUpper(w[k]):
			return false
		}
	}
	return d >= 4
}

// tokenEnd returns the end of the run of [A-Za-z0-9_-] at i.
func tokenEnd(t string, i int) int {
	for i < len(t) && (isWordByte(t[i]) || t[i] == '-') {
		i++
	}
	return i
}

func letterDigit(s string) (letter, digit bool) {
	for k := 0; k < len(s); k++ {
		switch {
		case isDigit(s[k]):
			digit = true
		case isLetter(s[k]):
			letter = true
		}
	}
	return letter, digit
}

func alnumOnly(s string) bool {
	for k := 0; k < len(s); k++ {
		if !isAlnum(s[k]) {
			return false
		}
	}
	return true
}

// secretPrefix recognises provider tokens by their prefix (rules after
// gitleaks, MIT) and returns the end of the token found, or 0.
func (st *state) secretPrefix(i, j int) int {
	t := st.t
	n := len(t)
	run := t[i:j]
	found := func(e int, kind string) int {
		st.add(i, e, ClassSecret, kind)
		return e
	}
	switch t[i] {
	case 's', 'r':
		// OpenAI sk-, sk-proj-, sk-svcacct-, sk-admin-; Anthropic sk-ant-.
		if run == "sk" && j < n && t[j] == '-' {
			e := tokenEnd(t, i)
			tok := t[i:e]
			l, d := letterDigit(tok[3:])
			if !l || !d {
				return 0
			}
			if strings.HasPrefix(tok, "sk-ant-") && len(tok) >= 40 {
				return found(e, KindAnthropic)
			}
			if len(tok) >= 23 && entropy(tok[3:]) >= 3.0 {
				return found(e, KindOpenAI)
			}
			return 0
		}
		// Stripe secret and restricted keys.
		if len(run) >= 24 && (strings.HasPrefix(run, "sk_live_") || strings.HasPrefix(run, "sk_test_") ||
			strings.HasPrefix(run, "rk_live_") || strings.HasPrefix(run, "rk_test_")) && alnumOnly(run[8:]) {
			return found(j, KindStripe)
		}
	case 'A':
		// AWS access key ids: AKIA (long-term), ASIA (STS), ABIA, ACCA.
		if len(run) == 20 && (strings.HasPrefix(run, "AKIA") || strings.HasPrefix(run, "ASIA") ||
			strings.HasPrefix(run, "ABIA") || strings.HasPrefix(run, "ACCA")) {
			for k := 4; k < 20; k++ {
				if c := run[k]; !isUpper(c) && (c < '2' || c > '7') {
					return 0
				}
			}
			return found(j, KindAWSKeyID)
		}
		// Google Cloud API keys: AIza and 35 more.
		if strings.HasPrefix(run, "AIza") {
			if e := tokenEnd(t, i); e-i == 39 {
				return found(e, KindGCPKey)
			}
		}
	case 'g':
		// GitHub ghp_, gho_, ghu_, ghs_, ghr_ and fine-grained github_pat_.
		if len(run) >= 40 && run[1] == 'h' && strings.IndexByte("pousr", run[2]) >= 0 && run[3] == '_' && alnumOnly(run[4:]) {
			return found(j, KindGitHub)
		}
		if len(run) >= 40 && strings.HasPrefix(run, "github_pat_") {
			return found(j, KindGitHub)
		}
		if run == "glpat" && j < n && t[j] == '-' {
			if e := tokenEnd(t, i); e-i >= 26 {
				return found(e, KindGitLab)
			}
		}
	case 'x':
		// Slack xoxb-, xoxp-, xoxa-, xoxr-, xoxs-.
		if len(run) == 4 && strings.HasPrefix(run, "xox") && strings.IndexByte("abprs", run[3]) >= 0 && j < n && t[j] == '-' {
			e := tokenEnd(t, i)
			if _, d := letterDigit(t[j:e]); d && e-i >= 15 {
				return found(e, KindSlack)
			}
		}
	case 'h':
		if len(run) >= 33 && strings.HasPrefix(run, "hf_") && alnumOnly(run[3:]) {
			return found(j, KindHuggingFace)
		}
	case 'n':
		if len(run) >= 40 && strings.HasPrefix(run, "npm_") && alnumOnly(run[4:]) {
			return found(j, KindNPM)
		}
	case 'e':
		if strings.HasPrefix(run, "eyJ") {
			if e := st.jwt(i); e > 0 {
				return e
			}
		}
	case 'B', 'b':
		if len(run) == 6 && hasPrefixFold(run, "bearer") && j+1 < n && t[j] == ' ' {
			s := j + 1
			e := s
			for e < n && (isWordByte(t[e]) || strings.IndexByte("-.~+/=", t[e]) >= 0) && e-s < 4096 {
				e++
			}
			if tok := t[s:e]; len(tok) >= 16 {
				if l, d := letterDigit(tok); l && d && entropy(tok) >= 3.5 {
					st.add(s, e, ClassSecret, KindBearer)
					return e
				}
			}
		}
	}
	return 0
}

// keyword names that introduce a secret value ("api_key: ...",
// "DB_PASSWORD=...", "clientSecret := ...").
var secretKeywords = []struct {
	word     string
	password bool
}{
	{"password", true}, {"passwd", true}, {"pwd", true}, {"passphrase", true},
	{"secret", false}, {"token", false}, {"apikey", false}, {"key", false}, {"credential", false}, {"credentials", false},
	{"authorization", false},
}

// SecretName reports whether a field or variable named w introduces a
// secret value ("authorization_token", "X-Api-Key", "db_password"): a
// name ending with a secret keyword on a word boundary.
func SecretName(w string) bool {
	_, ok := matchKeyword(w)
	return ok
}

// assignment recognises KEYWORD [:=] VALUE where KEYWORD ends with one of
// secretKeywords and VALUE looks like a secret: for passwords at least six
// characters mixing letters with digits or symbols; otherwise at least 16
// characters with letters and digits and a Shannon entropy of at least 3.5
// bits per character (gitleaks' generic-api-key threshold).
func (st *state) assignment(i, j int) int {
	t := st.t
	n := len(t)
	p := assignAt(t, j)
	if p == 0 {
		return 0
	}
	if p < n && (t[p] == '=' || t[p] == '>') {
		p++
	}
	password, ok := matchKeyword(t[i:j])
	if !ok {
		return 0
	}
	for q := 0; q < 4 && p < n && (t[p] == '"' || t[p] == '\'' || t[p] == '`' || t[p] == ' ' || t[p] == '\t'); q++ {
		p++
	}
	vs := p
	for p < n && valueByte(t[p]) && p-vs < 256 {
		p++
	}
	for p > vs && (t[p-1] == '.' || t[p-1] == ',') {
		p--
	}
	v := t[vs:p]
	if len(v) < 6 || strings.IndexByte("$<{%*[", v[0]) >= 0 || strings.Contains(v, "xxxx") || strings.Contains(v, "XXXX") || strings.Contains(v, "...") {
		return 0
	}
	l, d := letterDigit(v)
	if password {
		if !l || !d && alnumOnly(v) || len(v) > 128 {
			return 0
		}
	} else if len(v) < 16 || !l || !d || entropy(v) < 3.5 || isUUID(v) {
		// A canonical UUID is an identifier (a session, a cache key, a
		// request id), not a credential: its randomness is what entropy
		// measures, and agents send them under names like
		// prompt_cache_key on every request.
		return 0
	}
	st.add(vs, p, ClassSecret, KindGeneric)
	return p
}

func valueByte(c byte) bool {
	return c > ' ' && c < 0x7f && strings.IndexByte("\"'`,;<>()[]{}\\", c) < 0
}

// matchKeyword reports whether w ends with a secret keyword on a word
// boundary (after '_', '-', a digit, or a lower-to-upper case change).
func matchKeyword(w string) (password, ok bool) {
	for _, k := range secretKeywords {
		if len(w) < len(k.word) {
			continue
		}
		s := len(w) - len(k.word)
		if !hasPrefixFold(w[s:], k.word) {
			continue
		}
		if s > 0 {
			prev, cur := w[s-1], w[s]
			if !(prev == '_' || prev == '-' || isDigit(prev) || isUpper(cur) && (isLower(prev) || isUpper(prev))) {
				continue
			}
		}
		return k.password, true
	}
	return false, false
}

// isUUID reports whether v is a canonical 8-4-4-4-12 hexadecimal UUID.
func isUUID(v string) bool {
	if len(v) != 36 {
		return false
	}
	for k := 0; k < 36; k++ {
		switch k {
		case 8, 13, 18, 23:
			if v[k] != '-' {
				return false
			}
		default:
			if !isHex(v[k]) {
				return false
			}
		}
	}
	return true
}
