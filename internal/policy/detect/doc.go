// Package detect finds sensitive values in text: email addresses, phone
// numbers, payment cards, IBANs, national identifiers, IP addresses,
// secrets, medical record numbers, and operator-defined patterns and
// keywords.
//
// The scanner makes one pass over the bytes. A 256-entry table sends each
// byte to a cheap trigger: '@' for emails, a run of digits for cards, IBAN
// check digits, SSNs, phones and IPv4, ':' for IPv6, known prefixes at the
// start of a word for API keys (sk-, AKIA, ghp_, xoxb-, eyJ ...), and a word
// followed by ':' or '=' for key/secret/token/password assignments. Only a
// candidate is validated precisely (Luhn, mod-97, libphonenumber,
// net/netip, entropy), so text with nothing sensitive costs a few
// nanoseconds per byte and allocates nothing. Context words (SSN, MRN, NHS,
// phone) are looked up behind a candidate only when one is found.
//
// Several secret rules follow gitleaks (https://github.com/gitleaks/gitleaks,
// MIT licence, Copyright (c) 2019 Zachary Rice): the OpenAI, Anthropic, AWS,
// GCP, GitHub, GitLab, Slack, Hugging Face, Stripe, npm, JWT and private-key
// rules and the generic "keyword then high-entropy value" rule with its
// Shannon-entropy threshold of 3.5 bits per character.
package detect
