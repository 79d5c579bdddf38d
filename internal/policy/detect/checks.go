package detect

import "math"

// luhn reports whether the digits pass the Luhn (mod 10) check.
func luhn(d []byte) bool {
	sum := 0
	double := false
	for k := len(d) - 1; k >= 0; k-- {
		v := int(d[k] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

func prefixNum(d []byte, n int) int {
	v := 0
	for k := 0; k < n && k < len(d); k++ {
		v = v*10 + int(d[k]-'0')
	}
	return v
}

// cardIssuer reports whether the number has a known issuer prefix and a
// length that issuer uses: Visa, Mastercard (51-55, 2221-2720), American
// Express, Discover, JCB, Diners Club, UnionPay and Maestro.
func cardIssuer(d []byte) bool {
	l := len(d)
	p2, p3, p4, p6 := prefixNum(d, 2), prefixNum(d, 3), prefixNum(d, 4), prefixNum(d, 6)
	switch {
	case d[0] == '4': // Visa
		return l == 13 || l == 16 || l == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return l == 16
	case p2 == 34 || p2 == 37: // American Express
		return l == 15
	case p4 == 6011, p3 >= 644 && p3 <= 649, p2 == 65, p6 >= 622126 && p6 <= 622925: // Discover
		return l >= 16 && l <= 19
	case p4 >= 3528 && p4 <= 3589: // JCB
		return l >= 16 && l <= 19
	case p3 >= 300 && p3 <= 305, p4 == 3095, p2 == 36, p2 == 38, p2 == 39: // Diners Club
		return l >= 14 && l <= 19
	case p2 == 62: // UnionPay
		return l >= 16 && l <= 19
	case p4 == 5018, p4 == 5020, p4 == 5038, p4 == 5893, p4 == 6304, p4 == 6759, p4 >= 6761 && p4 <= 6763: // Maestro
		return l >= 13 && l <= 19
	}
	return false
}

// ssnValid applies the SSA rules: area not 000, 666 or 900-999; group not
// 00; serial not 0000.
func ssnValid(d []byte) bool {
	if len(d) != 9 {
		return false
	}
	area, group, serial := prefixNum(d, 3), prefixNum(d[3:], 2), prefixNum(d[5:], 4)
	return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

// nhsValid applies the NHS number modulus-11 check.
func nhsValid(d []byte) bool {
	if len(d) != 10 {
		return false
	}
	sum := 0
	for k := 0; k < 9; k++ {
		sum += int(d[k]-'0') * (10 - k)
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	return check != 10 && check == int(d[9]-'0')
}

// ibanLengths is the IBAN length per country, from the SWIFT IBAN registry.
var ibanLengths = map[[2]byte]int8{
	{'A', 'D'}: 24, {'A', 'E'}: 23, {'A', 'L'}: 28, {'A', 'T'}: 20, {'A', 'Z'}: 28, {'B', 'A'}: 20, {'B', 'E'}: 16,
	{'B', 'G'}: 22, {'B', 'H'}: 22, {'B', 'I'}: 27, {'B', 'R'}: 29, {'B', 'Y'}: 28, {'C', 'H'}: 21, {'C', 'R'}: 22,
	{'C', 'Y'}: 28, {'C', 'Z'}: 24, {'D', 'E'}: 22, {'D', 'J'}: 27, {'D', 'K'}: 18, {'D', 'O'}: 28, {'E', 'E'}: 20,
	{'E', 'G'}: 29, {'E', 'S'}: 24, {'F', 'I'}: 18, {'F', 'K'}: 18, {'F', 'O'}: 18, {'F', 'R'}: 27, {'G', 'B'}: 22,
	{'G', 'E'}: 22, {'G', 'I'}: 23, {'G', 'L'}: 18, {'G', 'R'}: 27, {'G', 'T'}: 28, {'H', 'N'}: 28, {'H', 'R'}: 21,
	{'H', 'U'}: 28, {'I', 'E'}: 22, {'I', 'L'}: 23, {'I', 'Q'}: 23, {'I', 'S'}: 26, {'I', 'T'}: 27, {'J', 'O'}: 30,
	{'K', 'W'}: 30, {'K', 'Z'}: 20, {'L', 'B'}: 28, {'L', 'C'}: 32, {'L', 'I'}: 21, {'L', 'T'}: 20, {'L', 'U'}: 20,
	{'L', 'V'}: 21, {'L', 'Y'}: 25, {'M', 'C'}: 27, {'M', 'D'}: 24, {'M', 'E'}: 22, {'M', 'K'}: 19, {'M', 'N'}: 20,
	{'M', 'R'}: 27, {'M', 'T'}: 31, {'M', 'U'}: 30, {'N', 'I'}: 28, {'N', 'L'}: 18, {'N', 'O'}: 15, {'O', 'M'}: 23,
	{'P', 'K'}: 24, {'P', 'L'}: 28, {'P', 'S'}: 29, {'P', 'T'}: 25, {'Q', 'A'}: 29, {'R', 'O'}: 24, {'R', 'S'}: 22,
	{'R', 'U'}: 33, {'S', 'A'}: 24, {'S', 'C'}: 31, {'S', 'D'}: 18, {'S', 'E'}: 24, {'S', 'I'}: 19, {'S', 'K'}: 24,
	{'S', 'M'}: 27, {'S', 'O'}: 23, {'S', 'T'}: 25, {'S', 'V'}: 28, {'T', 'L'}: 23, {'T', 'N'}: 24, {'T', 'R'}: 26,
	{'U', 'A'}: 29, {'V', 'A'}: 22, {'V', 'G'}: 24, {'X', 'K'}: 20, {'Y', 'E'}: 30,
}

// IBANLength returns the IBAN length of a country, or 0 (for tests and
// corpus generation).
func IBANLength(country string) int {
	if len(country) != 2 {
		return 0
	}
	return int(ibanLengths[[2]byte{country[0], country[1]}])
}

// ibanMod97 computes the ISO 7064 mod-97 of the IBAN characters in c
// (upper-case letters and digits, no spaces) after moving the first four
// to the end. A valid IBAN gives 1.
func ibanMod97(c []byte) int {
	r := 0
	step := func(ch byte) {
		if isDigit(ch) {
			r = (r*10 + int(ch-'0')) % 97
		} else {
			r = (r*100 + int(ch-'A'+10)) % 97
		}
	}
	for _, ch := range c[4:] {
		step(ch)
	}
	for _, ch := range c[:4] {
		step(ch)
	}
	return r
}

// ninoPrefix reports whether two letters may start a UK National Insurance
// number: neither D, F, I, Q, U nor V; second letter not O; and not BG,
// GB, KN, NK, NT, TN or ZZ.
func ninoPrefix(a, b byte) bool {
	bad := func(c byte) bool { return c == 'D' || c == 'F' || c == 'I' || c == 'Q' || c == 'U' || c == 'V' }
	if bad(a) || bad(b) || b == 'O' {
		return false
	}
	switch uint16(a)<<8 | uint16(b) {
	case 'B'<<8 | 'G', 'G'<<8 | 'B', 'K'<<8 | 'N', 'N'<<8 | 'K', 'N'<<8 | 'T', 'T'<<8 | 'N', 'Z'<<8 | 'Z':
		return false
	}
	return true
}

// entropy returns the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	if len(s) == 0 {
		return 0
	}
	var counts [256]uint16
	for k := 0; k < len(s); k++ {
		counts[s[k]]++
	}
	n := float64(len(s))
	h := 0.0
	for _, c := range counts {
		if c == 0 {
			continue
		}
		p := float64(c) / n
		h -= p * math.Log2(p)
	}
	return h
}
