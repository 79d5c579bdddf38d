package advise

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// identity is a model name read as what model it is: the core that names
// the model (family, version, size, variant such as "mini") and the tags
// that name a build of it (a snapshot date, a version, quantisation, the
// instruct or chat tuning every served open model has). Two names are the
// same model when their cores are equal and no tag kind both carry
// differs: "meta-llama/Llama-3.1-70B-Instruct", "llama3.1:70b" and
// "llama-3.1-70b" are one model; "llama-3.1-8b", "llama-3.3-70b" and
// "gpt-4o-mini" are three others.
type identity struct {
	core    string // tokens joined by "-": llama-3-1-70b
	date    string // 20240806, 2407, 0613
	version string // v0.3, v1.0, 002
	quant   []string
	tuned   bool // instruct, chat, it, hf
}

var (
	// isoDate joins a dashed date into one token: 2024-08-06 → 20240806;
	// monthYear Cohere's month-year: command-r-08-2024 → 202408.
	isoDate   = regexp.MustCompile(`(\d{4})-(\d{2})-(\d{2})`)
	monthYear = regexp.MustCompile(`-(\d{2})-((19|20)\d{2})$`)
	// colonVersion reads Bedrock's "v1:0" as the version v1.0.
	colonVersion = regexp.MustCompile(`v(\d+):(\d+)`)
	// providerDot is a Bedrock-style prefix ("us.", "anthropic.", "meta.").
	providerDot = regexp.MustCompile(`^[a-z]+(-[a-z]+)?\.`)
	dateTag     = regexp.MustCompile(`^((19|20)\d{4}(\d{2})?|\d{4})$`)
	versionTag  = regexp.MustCompile(`^(v\d+(\.\d+)*|0\d\d)$`)
	quantTag    = regexp.MustCompile(`^(awq|gptq|gguf|ggml|exl2|mlx|bnb|nf4|fp8|fp16|bf16|f16|int4|int8|4bit|8bit|w\d+a\d+|i?q\d+(_[0-9a-z]+)*)$`)
)

// parseIdentity reads a model name as an identity.
func parseIdentity(name string) identity {
	s := strings.ToLower(strings.TrimSpace(name))
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:] // organisation: meta-llama/, mistralai/, openai/
	}
	s = colonVersion.ReplaceAllString(s, "v$1.$2")
	for range 2 {
		if p := providerDot.FindString(s); p != "" && len(p) < len(s) {
			s = s[len(p):]
		}
	}
	// Ollama's name:tag and Vertex's name@date are more dashes.
	s = strings.NewReplacer(":", "-", "@", "-").Replace(s)
	s = isoDate.ReplaceAllString(s, "$1$2$3")
	s = monthYear.ReplaceAllString(s, "-$2$1")
	var id identity
	var core []string
	segs := strings.Split(s, "-")
	gpt := len(segs) > 0 && strings.HasPrefix(segs[0], "gpt")
	for _, seg := range segs {
		switch {
		case seg == "" || seg == "latest":
		case seg == "instruct" && !gpt, seg == "chat" && len(core) > 0, seg == "it", seg == "hf":
			// gpt-3.5-turbo-instruct is another model than gpt-3.5-turbo;
			// "chat" alone would be the whole name (deepseek-chat).
			id.tuned = true
		case dateTag.MatchString(seg):
			id.date = seg
		case versionTag.MatchString(seg):
			id.version = seg
		case quantTag.MatchString(seg):
			id.quant = append(id.quant, seg)
		default:
			core = append(core, splitCore(seg)...)
		}
	}
	// Hugging Face's older name for Llama: Meta-Llama-3.1-70B.
	if len(core) > 1 && core[0] == "meta" && core[1] == "llama" {
		core = core[1:]
	}
	slices.Sort(id.quant)
	id.core = strings.Join(core, "-")
	return id
}

// splitCore splits a name segment at dots, underscores and where letters
// turn to digits, so that "llama3.1" and "llama-3.1", "qwen2.5" and
// "qwen-2.5", "claude-3-5" and "claude-3.5" read the same. Digits turning
// to letters stay together: 70b, 4o, 8x7b.
func splitCore(seg string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(seg, func(r rune) bool { return r == '.' || r == '_' }) {
		start := 0
		rs := []rune(part)
		for i := 1; i < len(rs); i++ {
			if unicode.IsLetter(rs[i-1]) && unicode.IsDigit(rs[i]) {
				out = append(out, string(rs[start:i]))
				start = i
			}
		}
		out = append(out, string(rs[start:]))
	}
	return out
}

// sameModel says whether a and b name the same model and, when they do,
// how far apart the names are: the number of tags only one of them
// carries (0 for the same build). Tags both carry must agree: a dated
// snapshot is not another date's, quantisations must be the same.
func sameModel(a, b identity) (bool, int) {
	if a.core == "" || a.core != b.core {
		return false, 0
	}
	d := 0
	for _, t := range [][2]string{{a.date, b.date}, {a.version, b.version}} {
		switch {
		case t[0] != "" && t[1] != "" && t[0] != t[1]:
			return false, 0
		case t[0] != t[1]:
			d++
		}
	}
	// awq and awq-int4 are one quantisation; awq and gptq two.
	switch {
	case len(a.quant) > 0 && len(b.quant) > 0:
		if !slices.ContainsFunc(a.quant, func(q string) bool { return slices.Contains(b.quant, q) }) {
			return false, 0
		}
	case len(a.quant) != len(b.quant):
		d++
	}
	if a.tuned != b.tuned {
		d++
	}
	return true, d
}

// quantisedApart says whether exactly one of a and b is a quantised build: its
// accuracy can differ from the other's.
func quantisedApart(a, b identity) bool {
	return len(a.quant) != len(b.quant) && (len(a.quant) == 0 || len(b.quant) == 0)
}
