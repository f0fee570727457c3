package tasks

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// invalid builds the *ValidationError every Validate method returns.
func invalid(job, field, rule string) *ValidationError {
	return &ValidationError{Job: job, Field: field, Rule: rule}
}

// index appends a list index to a JSON path: index("targets", 3) is
// "targets[3]".
func index(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}

// width is the display width of s as the Chinese push vendors measure it:
// every rune counts 1, except East Asian Wide and Fullwidth runes (see
// wide), which count 2. "环信推送" is 8 wide, "Hi环信" is 6.
func width(s string) int {
	n := 0
	for _, r := range s {
		n++
		if wide(r) {
			n++
		}
	}
	return n
}

// wide reports whether r is East Asian Wide (W) or Fullwidth (F) in Unicode
// UAX #11, limited to the CJK scripts and their punctuation: Hangul Jamo
// leading consonants, CJK radicals, ideographic description characters,
// CJK symbols and punctuation (including the ideographic space U+3000),
// Hiragana, Katakana (not the halfwidth forms U+FF61–U+FF9F, which are
// narrow), Bopomofo, Hangul compatibility Jamo, Kanbun, CJK strokes,
// enclosed CJK letters, CJK compatibility, Han ideographs (the BMP blocks
// and the supplementary planes 2 and 3), Yi, Hangul syllables, CJK
// compatibility ideographs, vertical and small forms, the fullwidth ASCII
// variants U+FF01–U+FF60 and fullwidth signs U+FFE0–U+FFE6, and the kana
// supplements. Emoji, which UAX #11 also calls wide, count 1: they are not
// "CJK characters", and the vendors' rule is about those.
//
// A switch rather than a table keeps the data immutable and the lookup
// allocation-free; the ranges are in code-point order.
func wide(r rune) bool {
	switch {
	case r < 0x1100:
		return false
	case r <= 0x115F: // Hangul Jamo leading consonants
		return true
	case r < 0x2E80:
		return false
	case r <= 0x303E: // CJK radicals, Kangxi, IDCs, CJK symbols and punctuation
		return r <= 0x2FDF || r >= 0x2FF0
	case r < 0x3041:
		return false
	case r <= 0x33FF: // Hiragana … CJK compatibility (U+3248–U+324F are ambiguous)
		return r < 0x3248 || r > 0x324F
	case r <= 0x4DBF: // CJK unified ideographs extension A
		return true
	case r < 0x4E00: // Yijing hexagram symbols
		return false
	case r <= 0xA4CF: // CJK unified ideographs, Yi syllables and radicals
		return true
	case r < 0xA960:
		return false
	case r <= 0xA97F: // Hangul Jamo extended-A
		return true
	case r < 0xAC00:
		return false
	case r <= 0xD7A3: // Hangul syllables
		return true
	case r < 0xF900:
		return false
	case r <= 0xFAFF: // CJK compatibility ideographs
		return true
	case r < 0xFE10:
		return false
	case r <= 0xFE19: // vertical forms
		return true
	case r < 0xFE30:
		return false
	case r <= 0xFE6F: // CJK compatibility forms, small form variants
		return true
	case r < 0xFF01:
		return false
	case r <= 0xFF60: // fullwidth ASCII variants and brackets
		return true
	case r < 0xFFE0:
		return false
	case r <= 0xFFE6: // fullwidth signs
		return true
	case r < 0x1B000:
		return false
	case r <= 0x1B2FF: // kana supplement and extensions, Nüshu
		return true
	case r < 0x20000:
		return false
	case r <= 0x3FFFD: // CJK ideographs, planes 2 and 3
		return true
	}
	return false
}

// jsonChars is the length in characters of v as encoding/json writes it,
// which is what goes on the wire.
func jsonChars(v any) (int, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	return utf8.RuneCount(b), nil
}

// isJSONObject reports whether raw is a well-formed JSON object.
func isJSONObject(raw json.RawMessage) bool {
	if !json.Valid(raw) {
		return false
	}
	return strings.HasPrefix(strings.TrimLeft(string(raw), " \t\r\n"), "{")
}

// isDigits reports whether s is one or more ASCII decimal digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// urlUnsafe are the characters that change a URL around an id placed in a
// path segment or a query value, even when the client escapes it: a server
// or proxy that decodes twice turns %2F into a path separator, Java servers
// cut a path segment at ';', and '+' reads as a space in a query.
const urlUnsafe = `/\?#%&=+;`

// urlIDRule returns the rule id breaks as a value Herald puts into a
// provider's URL (a path segment such as Easemob's push/sync/{target}, or a
// query value such as EnOS's orgId), or "" when it is safe. Nothing in id
// may change which resource the URL names: not "." or "..", which a path
// normaliser resolves, nor control characters (NUL, newline), which end
// or split the request line, nor spaces, nor URL delimiters.
func urlIDRule(id string) string {
	const why = ": it goes into the provider's URL"
	switch {
	case id == "." || id == "..":
		return `must not be "." or ".."` + why
	case !utf8.ValidString(id):
		return "must be valid UTF-8"
	}
	for _, r := range id {
		switch {
		case unicode.IsControl(r):
			return fmt.Sprintf("must not contain control characters (%U)%s", r, why)
		case unicode.IsSpace(r):
			return "must not contain spaces" + why
		case strings.ContainsRune(urlUnsafe, r):
			return fmt.Sprintf("must not contain %q%s", r, why)
		}
	}
	return ""
}

// listIDRule returns the rule an id in a comma-separated list (DingTalk's
// userid_list) breaks, or "": a space or control character in it would be
// read as part of the id, or not, depending on the reader.
func listIDRule(id string) string {
	for _, r := range id {
		switch {
		case unicode.IsControl(r):
			return fmt.Sprintf("must not contain control characters (%U)", r)
		case unicode.IsSpace(r):
			return "must not contain spaces: ids are separated by commas alone"
		}
	}
	return ""
}
