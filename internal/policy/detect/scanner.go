package detect

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Built-in data classes.
const (
	ClassEmail      = "email"
	ClassPhone      = "phone"
	ClassCard       = "payment_card"
	ClassIBAN       = "iban"
	ClassNationalID = "national_id"
	ClassIP         = "ip_address"
	ClassIPPrivate  = "ip_private"
	ClassSecret     = "secret"
	ClassMedical    = "medical_id"
)

// Kinds say which rule found a value, finer than its class (for tests and
// documentation; policy decides on classes).
const (
	KindEmail        = "email"
	KindPhone        = "phone"
	KindCard         = "card"
	KindIBAN         = "iban"
	KindSSN          = "us_ssn"
	KindNINO         = "uk_nino"
	KindIPv4         = "ipv4"
	KindIPv6         = "ipv6"
	KindOpenAI       = "openai_key"
	KindAnthropic    = "anthropic_key"
	KindAWSKeyID     = "aws_access_key_id"
	KindGCPKey       = "gcp_api_key"
	KindGitHub       = "github_token"
	KindGitLab       = "gitlab_token"
	KindSlack        = "slack_token"
	KindHuggingFace  = "huggingface_token"
	KindStripe       = "stripe_key"
	KindNPM          = "npm_token"
	KindPrivateKey   = "private_key"
	KindJWT          = "jwt"
	KindGeneric      = "keyword_secret"
	KindBearer       = "bearer_token"
	KindMRN          = "mrn"
	KindNHS          = "nhs_number"
	KindCustomRegexp = "custom_pattern"
	KindCustomWord   = "custom_keyword"
)

// Mask selects detectors: the built-in bits below, and one bit per custom
// detector (see Scanner.CustomMask).
type Mask uint64

// Built-in detector bits.
const (
	Email Mask = 1 << iota
	Phone
	Card
	IBAN
	NationalID
	IP
	Secret
	Medical

	// Builtin selects every built-in detector.
	Builtin = Email | Phone | Card | IBAN | NationalID | IP | Secret | Medical
)

const customShift = 16

// MaxCustom is the number of custom detectors a Scanner supports.
const MaxCustom = 64 - customShift

// BuiltinMask returns the bit of a built-in detector name (the names of
// config.BuiltinDetectors), or 0.
func BuiltinMask(name string) Mask {
	switch name {
	case "email":
		return Email
	case "phone":
		return Phone
	case "payment_card":
		return Card
	case "iban":
		return IBAN
	case "national_id":
		return NationalID
	case "ip_address", "ip_private":
		return IP
	case "secret":
		return Secret
	case "medical_id":
		return Medical
	}
	return 0
}

// Span is one detected value: Text[Start:End].
type Span struct {
	Start, End int
	Class      string
	Kind       string
}

// Custom is an operator-defined detector: a regular expression or a list
// of keywords (matched case-insensitively on word boundaries).
type Custom struct {
	Class    string
	Pattern  string
	Keywords []string
}

// Options configure a Scanner.
type Options struct {
	// PhoneRegions are the regions whose national number formats are
	// recognised (ISO 3166 codes). International "+CC" numbers are always
	// recognised.
	PhoneRegions []string
	Custom       []Custom
}

// Scanner finds sensitive values. It is immutable after New and safe for
// concurrent use.
type Scanner struct {
	regions  []string
	patterns []pattern
	// kwFirst lists, per lower-cased first byte, the keywords starting
	// with it; nil when there are no keyword detectors.
	kwFirst *[256][]keyword
	// kwPair has a bit per lower-cased first two bytes of a keyword.
	kwPair  *[1 << 13]byte
	classes []string // class per custom detector index
}

type pattern struct {
	bit   Mask
	class string
	re    *regexp.Regexp
}

type keyword struct {
	bit   Mask
	class string
	word  string // lower case
}

// New compiles the options.
func New(o Options) (*Scanner, error) {
	s := &Scanner{}
	loadPhonePlan()
	for _, r := range o.PhoneRegions {
		r = strings.ToUpper(r)
		if callingCodeForRegion(r) == 0 {
			return nil, fmt.Errorf("detect: unknown phone region %q", r)
		}
		s.regions = append(s.regions, r)
	}
	if len(o.Custom) > MaxCustom {
		return nil, fmt.Errorf("detect: at most %d custom detectors", MaxCustom)
	}
	for i, c := range o.Custom {
		bit := Mask(1) << (customShift + i)
		s.classes = append(s.classes, c.Class)
		if c.Pattern != "" {
			re, err := regexp.Compile(c.Pattern)
			if err != nil {
				return nil, fmt.Errorf("detect: custom detector %q: %w", c.Class, err)
			}
			s.patterns = append(s.patterns, pattern{bit: bit, class: c.Class, re: re})
		}
		for _, w := range c.Keywords {
			w = strings.ToLower(strings.TrimSpace(w))
			if w == "" {
				continue
			}
			if s.kwFirst == nil {
				s.kwFirst = new([256][]keyword)
				s.kwPair = new([1 << 13]byte)
			}
			pair := uint16(w[0]) << 8
			if len(w) > 1 {
				pair |= uint16(w[1])
			}
			s.kwPair[pair>>3] |= 1 << (pair & 7)
			s.kwFirst[w[0]] = append(s.kwFirst[w[0]], keyword{bit: bit, class: c.Class, word: w})
		}
	}
	return s, nil
}

// CustomMask returns the bits of the custom detectors reporting class.
func (s *Scanner) CustomMask(class string) Mask {
	var m Mask
	for i, c := range s.classes {
		if c == class {
			m |= Mask(1) << (customShift + i)
		}
	}
	return m
}

// AllCustom returns the bits of every custom detector.
func (s *Scanner) AllCustom() Mask {
	var m Mask
	for i := range s.classes {
		m |= Mask(1) << (customShift + i)
	}
	return m
}

// Byte classes of the main loop.
const (
	bOther = iota
	bDigit
	bWord // letters and '_'
	bAt
	bColon
	bPlus
	bParen
	bDash
)

var byteClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = bDigit
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = bWord
		t[c-'a'+'A'] = bWord
	}
	t['_'] = bWord
	t['@'] = bAt
	t[':'] = bColon
	t['+'] = bPlus
	t['('] = bParen
	t['-'] = bDash
	return t
}()

// Scan appends the values found in text to dst, sorted by Start and not
// overlapping, and returns it. mask selects the detectors.
func (s *Scanner) Scan(text string, mask Mask, dst []Span) []Span {
	st := state{s: s, t: text, m: mask, out: dst}
	base := len(dst)
	n := len(text)
	words := mask&(Secret|IBAN|NationalID|Medical) != 0 || (s.kwFirst != nil && mask>>customShift != 0)
	for i := 0; i < n; {
		switch byteClass[text[i]] {
		case bOther:
			i++
		case bDigit, bWord:
			j, letters, digits := runEnd(text, i)
			if digits && !letters && byteClass[text[i]] == bDigit {
				if mask&(Phone|Card|NationalID|IP|Medical) != 0 {
					j = st.number(i, -1)
				}
			} else if words {
				j = st.word(i, j, digits)
			}
			if s.kwFirst != nil {
				st.keywords(i)
			}
			if j-i == 2 && lower(text[i]) == 'a' && lower(text[i+1]) == 't' && mask&Email != 0 {
				st.obscuredEmail(i, j)
			}
			i = j
		case bAt:
			if mask&Email != 0 {
				st.email(i)
				st.obscuredEmail(i, i+1)
			}
			i++
		case bColon:
			if mask&IP != 0 {
				st.ipv6(i)
			}
			i++
		case bPlus, bParen:
			if i+1 < n && isDigit(text[i+1]) && (i == 0 || !isWordByte(text[i-1])) && mask&(Phone|Card|NationalID|IP|Medical) != 0 {
				i = st.number(i+1, i)
			} else {
				i++
			}
		case bDash:
			if mask&Secret != 0 && strings.HasPrefix(text[i:], "-----BEGIN ") {
				i = st.pem(i)
			} else {
				i++
			}
		}
	}
	if len(s.patterns) > 0 && mask>>customShift != 0 {
		for _, p := range s.patterns {
			if mask&p.bit == 0 {
				continue
			}
			for _, loc := range p.re.FindAllStringIndex(text, -1) {
				if loc[1] > loc[0] {
					st.add(loc[0], loc[1], p.class, KindCustomRegexp)
				}
			}
		}
	}
	return normalize(st.out, base)
}

// normalize sorts out[base:] by start and drops spans overlapping an
// earlier (or, at the same start, a longer) one.
func normalize(out []Span, base int) []Span {
	sp := out[base:]
	if len(sp) < 2 {
		return out
	}
	sorted := true
	for k := 1; k < len(sp); k++ {
		if sp[k].Start < sp[k-1].Start {
			sorted = false
			break
		}
	}
	if !sorted {
		slices.SortStableFunc(sp, func(a, b Span) int {
			if a.Start != b.Start {
				return a.Start - b.Start
			}
			return b.End - a.End
		})
	}
	w := 1
	for k := 1; k < len(sp); k++ {
		if sp[k].Start < sp[w-1].End {
			continue
		}
		sp[w] = sp[k]
		w++
	}
	return out[:base+w]
}

// state is one scan of one text.
type state struct {
	s   *Scanner
	t   string
	m   Mask
	out []Span
	// rescan is where number was told to scan again from (the second
	// group of a window cut short), and rescanEnd where that window
	// ended: the groups' pairs that ended before its last group were
	// tried in it already (see number).
	rescan, rescanEnd int
	// ctxPos and ctx memoise the phone context of the last start tried.
	ctxPos int
	ctx    bool
	// nat remembers validNational answers (see state.validNational),
	// allocated once a text has asked about natCalls numbers.
	nat      *[64]natEntry
	natCalls int
}

func (st *state) add(start, end int, class, kind string) {
	st.out = append(st.out, Span{Start: start, End: end, Class: class, Kind: kind})
}

// runEnd returns the end of the run of [A-Za-z0-9_] starting at i and
// whether it holds letters (or '_') and digits.
func runEnd(t string, i int) (j int, letters, digits bool) {
	j = i
	for j < len(t) {
		switch byteClass[t[j]] {
		case bDigit:
			digits = true
		case bWord:
			letters = true
		default:
			return j, letters, digits
		}
		j++
	}
	return j, letters, digits
}

func isDigit(c byte) bool    { return c-'0' < 10 }
func isUpper(c byte) bool    { return c-'A' < 26 }
func isLower(c byte) bool    { return c-'a' < 26 }
func isLetter(c byte) bool   { return isUpper(c) || isLower(c) }
func isAlnum(c byte) bool    { return isDigit(c) || isLetter(c) }
func isWordByte(c byte) bool { return isAlnum(c) || c == '_' }
func lower(c byte) byte {
	if isUpper(c) {
		return c + 'a' - 'A'
	}
	return c
}

// keywords reports custom keywords starting at the word start i.
func (st *state) keywords(i int) {
	t := st.t
	pair := uint16(lower(t[i])) << 8
	if i+1 < len(t) {
		pair |= uint16(lower(t[i+1]))
	}
	if st.s.kwPair[pair>>3]&(1<<(pair&7)) == 0 && st.s.kwPair[(pair&0xff00)>>3]&1 == 0 {
		return
	}
	for _, k := range st.s.kwFirst[lower(t[i])] {
		if st.m&k.bit == 0 || len(t)-i < len(k.word) {
			continue
		}
		if !hasPrefixFold(t[i:], k.word) {
			continue
		}
		e := i + len(k.word)
		if e < len(t) && isWordByte(t[e]) {
			continue
		}
		if i > 0 && isWordByte(t[i-1]) {
			continue
		}
		st.add(i, e, k.class, KindCustomWord)
	}
}

// hasPrefixFold reports whether s starts with the lower-case ASCII prefix p,
// ignoring case.
func hasPrefixFold(s, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for k := 0; k < len(p); k++ {
		if lower(s[k]) != p[k] {
			return false
		}
	}
	return true
}

// wordSet is a list of context words (lower case) and the set of their
// first letters in either case, so that contextBefore passes over most
// positions with one test instead of one per word: digit runs are full of
// positions a value could start at.
type wordSet struct {
	words []string
	first [256 / 64]uint64
}

func newWordSet(words ...string) *wordSet {
	ws := &wordSet{words: words}
	for _, word := range words {
		for _, c := range [2]byte{word[0], upper(word[0])} {
			ws.first[c/64] |= 1 << (c % 64)
		}
	}
	return ws
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// contextBefore reports whether one of words occurs, starting on a word
// boundary, in the dist bytes before pos.
func contextBefore(t string, pos, dist int, ws *wordSet) bool {
	lo := max(pos-dist, 0)
	w := t[lo:pos]
	for k := 0; k < len(w); k++ {
		if ws.first[w[k]/64]&(1<<(w[k]%64)) == 0 {
			continue
		}
		if k > 0 && isLetter(w[k-1]) || k == 0 && lo > 0 && isLetter(t[lo-1]) {
			continue
		}
		c := lower(w[k])
		for _, word := range ws.words {
			if word[0] == c && hasPrefixFold(w[k:], word) {
				return true
			}
		}
	}
	return false
}
