package policy

import (
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
