package policy

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// Values written in hex or spelled out in digit words, as a client asks a
// model to decode them, keep a request home (and cannot be redacted in
// place: the class is fixed, so a redacting policy keeps it home too).
// Each of these passed as "no sensitive data" before hex.go.
func TestHexAndSpelledValues(t *testing.T) {
	e := testEngine(t)
	email := "ann.leak@example.com"
	card := "4111 1111 1111 1111"
	spaced := func(s, sep, prefix string) string {
		var parts []string
		for _, b := range []byte(s) {
			parts = append(parts, fmt.Sprintf("%s%02x", prefix, b))
		}
		return strings.Join(parts, sep)
	}
	for _, tc := range []struct{ name, text, class string }{
		{"contiguous", "Decode this hex and email the person: " + hex.EncodeToString([]byte(email)), "email"},
		{"upper case 0x", "value 0x" + strings.ToUpper(hex.EncodeToString([]byte("Card: "+card))) + " please", "payment_card"},
		{"spaced", "bytes: " + spaced(email, " ", ""), "email"},
		{"colons", spaced(email, ":", ""), "email"},
		{`\x`, "decode " + spaced(email, "", `\x`), "email"},
		{"0x spaced", spaced("card "+card, " ", "0x"), "payment_card"},
		{"spelled card", "My card is four one one one, one one one one, one one one one, one one one one. Thanks", "payment_card"},
		{"spelled mixed", "the number is 4111 one one one one 1111 one one one one", "payment_card"},
		{"French words", "ma carte: quatre un un un, un un un un, un un un un, un un un un", "payment_card"},
		{"German words", "Karte vier eins eins eins eins eins eins eins eins eins eins eins eins eins eins eins", "payment_card"},
		{"Spanish words with groups", "tarjeta cuatro uno uno uno 1111 uno uno uno uno 1111", "payment_card"},
		{"Italian words", "carta quattro uno uno uno uno uno uno uno uno uno uno uno uno uno uno uno", "payment_card"},
		{"digits apart", "card: 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1, exp 12/29", "payment_card"},
		{"digits by commas", "4,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1", "payment_card"},
		{"digits by dots", "pay with 4.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1 today", "payment_card"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, pol := range []string{"default", "redact"} {
				d, err := e.EvaluateBody(Input{Body: partsBody(t, tc.text), Policies: []string{pol}})
				if err != nil {
					t.Fatal(err)
				}
				classes, _ := d.Header()
				if !strings.Contains(classes, tc.class) || d.Action != ActionSelfHostedOnly {
					t.Errorf("policy %s: %q: classes %q action %v, want %s kept home", pol, tc.text, classes, d.Action, tc.class)
				}
			}
		})
	}
}

// What looks like hex or digit words but spells no value is not a hit:
// hashes, ids, decimal numbers, colours, and prose with a few numbers.
func TestHexAndSpelledPrecision(t *testing.T) {
	e := testEngine(t)
	for _, text := range []string{
		"commit 3f786850e387550fdab836ed7e6dc881de23001b fixed it",
		"sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"id 550e8400-e29b-41d4-a716-446655440000 and colour #c0ffee",
		"the totals were 12 34 56 78 90 12 34 56 78 90 last year",
		"I have one dog, two cats, three fish and four birds; one of them is old.",
		"Hex of a greeting: " + hex.EncodeToString([]byte("hello there, general")),
		"one two three four five six seven eight nine ten",
		"count: 1 2 3 4 5 6 7 8 9 10",
		"il y a un chat, deux chiens et trois oiseaux; un deux trois, nous irons au bois",
		"uno, dos, tres: los ocho de la tarde, seis o siete amigos",
		"Null Problem: eins, zwei, drei Dinge, sieben Tage die Woche, acht Stunden",
		"bits 1 0 1 1 0 0 1 0 1 1 1 0 1 0 0 1",
		"array [5, 3, 8, 1, 9, 2, 7, 4, 6, 0] and version 1.2.3.4.5.6.7",
	} {
		d, err := e.EvaluateBody(Input{Body: partsBody(t, text)})
		if err != nil {
			t.Fatal(err)
		}
		if classes, _ := d.Header(); classes != "" {
			t.Errorf("%q: classes %q, want none", text, classes)
		}
	}
}

// Cyrillic and Greek look-alike letters in a value are read as the Latin
// letters they are drawn like: an address written with a Cyrillic "а"
// and "о" passed as no sensitive data. Redaction replaces the bytes the
// client wrote. Prose in those scripts finds nothing.
func TestLookAlikeLetters(t *testing.T) {
	e := testEngine(t)
	addr := "аnn.leak@exаmple.cоm" // Cyrillic а (U+0430) and о (U+043E)
	d, err := e.EvaluateBody(Input{Body: partsBody(t, "Write to "+addr+" today."), Policies: []string{"redact"}})
	if err != nil {
		t.Fatal(err)
	}
	if classes, _ := d.Header(); classes != "email" || d.Action != ActionRedact {
		t.Fatalf("classes %q action %v, want email redacted", classes, d.Action)
	}
	if out := d.Body(); strings.Contains(string(out), "leak") || strings.Contains(string(out), "ex\u0430mple") {
		t.Errorf("redacted body still holds the address: %s", out)
	}
	for _, text := range []string{
		"Привет! Мой заказ пришёл вчера, спасибо за помощь. Всё хорошо.",
		"Καλημέρα, η παραγγελία μου έφτασε χθες. Ευχαριστώ πολύ για τη βοήθεια.",
	} {
		d, err := e.EvaluateBody(Input{Body: partsBody(t, text)})
		if err != nil {
			t.Fatal(err)
		}
		if classes, _ := d.Header(); classes != "" {
			t.Errorf("%q: classes %q, want none", text, classes)
		}
	}
}

// A body cut into very many one-letter text parts made each seam read
// the whole 4 KB token the parts roll into again: 200,000 parts cost 9 s
// of CPU. Windows are widened to whole tokens only while the bytes the
// seams read are within a budget of the body's size, then read
// seamWindow bytes: a value cut in small pieces after that is still
// found, a long text in many parts and a key cut in many pieces before it
// are read as before. (BenchmarkEvaluateBody/fragmented measures the
// cost.)
func TestFragmentedBody(t *testing.T) {
	e := testEngine(t)
	tiny := make([]string, 0, 50_010)
	for range 50_000 {
		tiny = append(tiny, "h")
	}
	tiny = append(tiny, " write to ", "ann.le", "ak@exa", "mple.com", " today")
	d, err := e.EvaluateBody(Input{Body: partsBody(t, tiny...)})
	if err != nil {
		t.Fatal(err)
	}
	if classes, _ := d.Header(); classes != "email" {
		t.Errorf("50,000 one-letter parts, then an address in pieces: classes %q, want email", classes)
	}
	// 2,000 parts of 1 KB of base64 each (a document cut in parts).
	doc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("The quarterly report is ready for the board. ", 46_000)))
	var parts []string
	for i := 0; i+1024 <= len(doc); i += 1024 {
		parts = append(parts, doc[i:i+1024])
	}
	if d, err := e.EvaluateBody(Input{Body: partsBody(t, parts...)}); err != nil {
		t.Fatalf("%d parts of 1 KB: %v", len(parts), err)
	} else if classes, _ := d.Header(); classes != "" {
		t.Errorf("clean document in parts: classes %q", classes)
	}
	// A key cut into 40 pieces is still read whole.
	key := "sk-proj-" + strings.Repeat("Ab3dEf5hIj7kLm9nOp1qRs", 6)
	var pieces []string
	for i := 0; i < len(key); i += 4 {
		pieces = append(pieces, key[i:min(i+4, len(key))])
	}
	d, err = e.EvaluateBody(Input{Body: partsBody(t, pieces...)})
	if err != nil {
		t.Fatal(err)
	}
	if classes, _ := d.Header(); classes != "secret" {
		t.Errorf("a key in %d pieces: classes %q, want secret", len(pieces), classes)
	}
}

// ROT13 is not decoded, but it keeps an address's shape, so the address
// detector still finds one (docs/sovereignty.md says so).
func TestROT13AddressStillFound(t *testing.T) {
	e := testEngine(t)
	d, err := e.EvaluateBody(Input{Body: partsBody(t, "decode and write to naa.yrnx@rknzcyr.pbz today")})
	if err != nil {
		t.Fatal(err)
	}
	if classes, _ := d.Header(); classes != "email" {
		t.Errorf("classes %q, want email", classes)
	}
}
