package detect

import "strings"

// Obscured email addresses: the ways people write an address so that a
// harvester will not read it, and which a model reads as the address all
// the same ("ann [at] example [dot] com", "ann(at)example.com",
// "ann @ example . com", "ann at example dot com"). They are recognised
// around the "at" (a word "at", or an '@' the plain detector did not take)
// and named email like a plain address.
//
// Prose shares the words, so the forms are taken only where they cannot be
// prose: a bracketed "[at]" / "(at)" / "{at}" / "<at>", or an '@', with an
// obscured separator or a spaced '@'; a bare word "at" only with at least
// one dot written as a word or bracketed ("look at example.com" is a
// sentence); and in every case the last label must be a top-level domain
// (tlds: the generic ones and the common country codes, not file
// extensions such as "py"), so "meet @ home . Then" and "look at utils
// dot py" are not addresses. Not recognised (documented in docs/policy.md):
// letters written apart ("a n n @ e x a m p l e"), reversed text, and an
// "at" spelled in another language.

// tlds lists the top-level domains an obscured address may end in: the
// generic ones mail is commonly at and the country codes of the largest
// mail populations, leaving out the two-letter codes that are mostly
// file extensions (py, rs, sh, md, js, ts, cc, pl, ml, ...).
var tlds = func() map[string]bool {
	m := map[string]bool{}
	for _, d := range strings.Fields(`com org net edu gov mil int info biz name pro mobi
		app dev xyz online site tech store email mail cloud health bank law company global
		eu uk de fr es it nl be ch at se no dk fi ie pt cz gr hu ro bg hr si sk lu li
		us ca mx br ar cl au nz jp cn kr tw hk sg in za ru ua tr il ae`) {
		m[d] = true
	}
	return m
}()

// closer returns the bracket closing c, or 0.
func closer(c byte) byte {
	switch c {
	case '[':
		return ']'
	case '(':
		return ')'
	case '{':
		return '}'
	case '<':
		return '>'
	}
	return 0
}

// bracketed reports whether t holds at i a bracketed word w ("[at]",
// "(dot)", any letter case) and returns its end.
func bracketed(t string, i int, w string) (int, bool) {
	if i >= len(t) {
		return 0, false
	}
	c := closer(t[i])
	e := i + 1 + len(w)
	if c == 0 || e >= len(t) || t[e] != c || !strings.EqualFold(t[i+1:e], w) {
		return 0, false
	}
	return e + 1, true
}

// spaces returns the end of the run of at most three spaces at i.
func spaces(t string, i int) int {
	for k := 0; k < 3 && i < len(t) && t[i] == ' '; k++ {
		i++
	}
	return i
}

// lineBlank reports whether c is a tab or a line break: read like a
// space around an '@' ("ann.leak\n@\nexample.com" is an address to a
// model), not around the word "at".
func lineBlank(c byte) bool { return c == '\t' || c == '\n' || c == '\r' }

// obscuredEmail recognises an obscured address around t[as:ae]: the word
// "at" or an '@'.
func (st *state) obscuredEmail(as, ae int) {
	t := st.t
	ts, te := as, ae
	sym := t[as] == '@'
	obscured := false // some part is written so that it cannot be prose
	switch {
	case as > 0 && ae < len(t) && closer(t[as-1]) == t[ae]:
		ts, te, obscured = as-1, ae+1, true
	case sym:
	case as > 0 && t[as-1] == ' ' && ae < len(t) && t[ae] == ' ' &&
		(t[as:ae] == "at" || t[as:ae] == "AT"):
	default:
		return
	}
	// The local part, up to three spaces before.
	le := ts
	for le > 0 && ts-le < 3 && (t[le-1] == ' ' || sym && lineBlank(t[le-1])) {
		le--
	}
	if sym && le < ts {
		obscured = true
	}
	ls := le
	for ls > 0 && le-ls < 64 && isLocalByte(t[ls-1]) {
		ls--
	}
	for ls < le && (t[ls] == '.' || t[ls] == '-' || t[ls] == '+') {
		ls++
	}
	if ls == le || t[le-1] == '.' || ls > 0 && isLocalByte(t[ls-1]) {
		return
	}
	// The domain: labels joined by dots, plain, spaced, bracketed or words.
	k := spaces(t, te)
	for sym && k-te < 3 && k < len(t) && (t[k] == ' ' || lineBlank(t[k])) {
		k++
	}
	if sym && k > te {
		obscured = true
	}
	wordDot := false
	labels, last := 0, ""
	for k-te < 254 {
		s := k
		for k < len(t) && (isAlnum(t[k]) || t[k] == '-') {
			k++
		}
		if k == s {
			return
		}
		labels, last = labels+1, t[s:k]
		if k+1 < len(t) && t[k] == '.' && isAlnum(t[k+1]) {
			k++
			continue
		}
		m := spaces(t, k)
		if e, ok := bracketed(t, m, "dot"); ok {
			k, obscured, wordDot = spaces(t, e), true, true
			continue
		}
		if m > k && m < len(t) {
			if t[m] == '.' && m+1 < len(t) && t[m+1] == ' ' {
				k, obscured = spaces(t, m+1), true
				continue
			}
			if e := m + 3; e < len(t) && t[e] == ' ' && (t[m:e] == "dot" || t[m:e] == "DOT") {
				k, obscured, wordDot = spaces(t, e), true, true
				continue
			}
		}
		break
	}
	bare := !sym && ts == as // the word "at", not bracketed
	if labels < 2 || !obscured || bare && !wordDot || !isTLD(last) || isNoReply(t[ls:le]) {
		return
	}
	st.add(ls, k, ClassEmail, KindEmail)
}

// isTLD reports whether label, in one letter case, is a top-level domain
// an obscured address may end in.
func isTLD(label string) bool {
	l := strings.ToLower(label)
	return (label == l || label == strings.ToUpper(label)) && tlds[l]
}
