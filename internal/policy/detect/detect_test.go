package detect

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func newTestScanner(t testing.TB) *Scanner {
	t.Helper()
	s, err := New(Options{
		PhoneRegions: []string{"US", "GB", "DE", "FR"},
		Custom: []Custom{
			{Class: "employee_id", Pattern: `EMP-[0-9]{6}`},
			{Class: "project_codename", Keywords: []string{"bluebird", "Night Jar"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// found renders spans as "class:value".
func found(text string, spans []Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, fmt.Sprintf("%s:%s", s.Class, text[s.Start:s.End]))
	}
	return out
}

func TestScan(t *testing.T) {
	s := newTestScanner(t)
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"email", "Contact jane.doe+billing@example.co.uk today.", []string{"email:jane.doe+billing@example.co.uk"}},
		{"email trailing dot", "mail bob@corp.example.", []string{"email:bob@corp.example"}},
		{"no-reply sender", "Co-Authored-By: Claude <noreply@anthropic.com>, do-not-reply@bank.example", nil},
		{"uuid is no secret", "prompt_cache_key: 01a23802-0bad-7043-a1c1-ec1e6b3a7f60", nil},
		{"not email", "@mention user@localhost npm i pkg@1.2.3", nil},
		{"visa spaced", "card 4111 1111 1111 1111 exp 12/27", []string{"payment_card:4111 1111 1111 1111"}},
		{"mastercard 2-series", "pay with 2223-0031-2200-3222.", []string{"payment_card:2223-0031-2200-3222"}},
		{"amex", "amex 3782 822463 10005", []string{"payment_card:3782 822463 10005"}},
		{"luhn fail", "order 4111111111111112 shipped", nil},
		{"no issuer", "ref 9111111111111111", nil},
		{"iban plain", "IBAN DE89370400440532013000 thanks", []string{"iban:DE89370400440532013000"}},
		{"iban grouped", "to GB82 WEST 1234 5698 7654 32 by Friday", []string{"iban:GB82 WEST 1234 5698 7654 32"}},
		{"iban bad check", "DE89370400440532013001", nil},
		// Typed in lower case, it is the same IBAN; mixed case is not read.
		{"iban lower case", "iban de89370400440532013000 thanks", []string{"iban:de89370400440532013000"}},
		{"iban lower case grouped", "to gb82 west 1234 5698 7654 32 by Friday", []string{"iban:gb82 west 1234 5698 7654 32"}},
		{"iban lower case bad check", "de89370400440532013001", nil},
		{"iban mixed case", "gb82 WEST 1234 5698 7654 32", nil},
		{"ssn", "SSN 123-45-6789", []string{"national_id:123-45-6789"}},
		{"ssn dashed no context", "his number 123-45-6789 is on file", []string{"national_id:123-45-6789"}},
		{"ssn invalid area", "666-45-6789 and 900-12-3456 and 000-12-3456", nil},
		{"ssn bare needs context", "zip 123456789", nil},
		{"ssn bare with context", "social security no. 123456789", []string{"national_id:123456789"}},
		{"nino", "NI number AB 12 34 56 C and QQ123456C", []string{"national_id:AB 12 34 56 C"}},
		{"ipv4 public", "server 8.8.8.8:53 and 10.0.0.5/24", []string{"ip_address:8.8.8.8", "ip_private:10.0.0.5"}},
		{"ipv6", "addr 2001:db8::1 or fe80::1%eth0 and ::1 and 2a03:2880:f12f:83:face:b00c:0:25de", []string{"ip_private:fe80::1", "ip_address:2a03:2880:f12f:83:face:b00c:0:25de"}},
		{"not sensitive addresses", "listen 0.0.0.0:80, 127.0.0.1, 192.0.2.7, 198.51.100.1, 203.0.113.9, 255.255.255.255, 224.0.0.1, net 10.0.0.0/8", nil},
		{"private split from loopback", "db at 10.24.8.15 and 192.168.1.20, health from 127.0.0.1", []string{"ip_private:10.24.8.15", "ip_private:192.168.1.20"}},
		{"git remote and url user", "git@github.com:acme/x.git and postgres://app@db.example.com:5432/app, mail ann@example.com: ok", []string{"email:ann@example.com"}},
		{"phone after context, unassigned area code", "phone 485.459.5429, Alt. phone +1 355 233 8043, téléphone 07.28.14.71.62",
			[]string{"phone:485.459.5429", "phone:+1 355 233 8043", "phone:07.28.14.71.62"}},
		{"no phone without context", "build 485.459.5429 and ref 355 233 8043", nil},
		{"mrn before procedure code", "MRN#49011834, procedure code 99213", []string{"medical_id:49011834"}},
		{"mrn only first number", "MRN 4401, procedure code 99213", nil},
		{"mrn localized", "Patientennummer 88300172; n° de dossier 20251104", []string{"medical_id:88300172", "medical_id:20251104"}},
		{"iban with dashes", "pay DE89-3704-0044-0532-0130-00 now", []string{"iban:DE89-3704-0044-0532-0130-00"}},
		{"not ipv6", "std::vector Foo::Bar 10:30:00 aa:bb", nil},
		{"phone intl", "call +44 20 7946 0958 or +49 30 901820", []string{"phone:+44 20 7946 0958", "phone:+49 30 901820"}},
		{"phone us", "Phone: (415) 555-2671.", []string{"phone:(415) 555-2671"}},
		{"phone fr", "tél 01 42 68 53 00", []string{"phone:01 42 68 53 00"}},
		{"phone bare needs context", "ticket 4155552671 closed", nil},
		{"phone bare with context", "mobile: 4155552671", []string{"phone:4155552671"}},
		{"openai", "key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", []string{"secret:sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"}},
		{"aws id", "AKIAIOSFODNN7EXAMPLE", []string{"secret:AKIAIOSFODNN7EXAMPLE"}},
		{"aws secret", `aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"`, []string{"secret:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}},
		{"github", "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", []string{"secret:ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"}},
		{"slack", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp", []string{"secret:xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp"}},
		{"jwt", "Authorization: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", []string{"secret:eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"}},
		{"pem", "x -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- y", []string{"secret:-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"}},
		{"certificate is not secret", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", nil},
		{"password", "DB_PASSWORD=hunter2!x", []string{"secret:hunter2!x"}},
		{"not password", "password: required, max_tokens: 1024, key: value", nil},
		{"mrn", "MRN: 00482913 admitted", []string{"medical_id:00482913"}},
		{"nhs", "NHS number 943 476 5919", []string{"medical_id:943 476 5919"}},
		{"custom pattern", "badge EMP-123456", []string{"employee_id:EMP-123456"}},
		{"custom keyword", "Project BlueBird and night jar, not bluebirds", []string{"project_codename:BlueBird", "project_codename:night jar"}},
		{"negatives", "uuid 550e8400-e29b-41d4-a716-446655440000 sha 3f786850e387550fdab836ed7e6dc881de23001b v1.2.3 2024-01-15T10:30:00Z $1,299.99 ISBN 978-3-16-148410-0 12345 * 6789 = 83810205 ts 1700000000000", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := found(tt.text, s.Scan(tt.text, Builtin|s.AllCustom(), nil))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Scan(%q) (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}
