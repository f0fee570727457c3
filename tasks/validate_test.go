package tasks

import "testing"

func TestWidth(t *testing.T) {
	cases := []struct {
		name string
		s    string
		want int
	}{
		{"empty", "", 0},
		{"ASCII", "Hello", 5},
		{"Latin with accents", "café", 4},
		{"Han", "环信推送", 8},
		{"mixed", "Hi环信", 6},
		{"Hiragana", "ひらがな", 8},
		{"Katakana", "カタカナ", 8},
		{"halfwidth Katakana is narrow", "ｶﾀｶﾅ", 4},
		{"Hangul syllables", "한국어", 6},
		{"Hangul leading Jamo", "ᄀ", 2},
		{"Hangul filler Jamo is narrow", "\u1160", 1},
		{"CJK punctuation", "，。、", 6},
		{"ideographic space", "\u3000", 2},
		{"U+303F half fill space is narrow", "\u303f", 1},
		{"fullwidth Latin", "ＡＢ", 4},
		{"fullwidth yen sign", "￥", 2},
		{"Bopomofo", "ㄅ", 2},
		{"CJK extension A", "㐀", 2},
		{"CJK extension B", "𠀀", 2},
		{"CJK compatibility ideograph", "豈", 2},
		{"Yijing hexagram is narrow", "䷀", 1},
		{"emoji counts 1", "😀", 1},
		{"Cyrillic", "Привет", 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := width(tc.s); got != tc.want {
				t.Errorf("width(%q) = %d, want %d", tc.s, got, tc.want)
			}
		})
	}
}

// TestWideBoundaries walks the edges of every wide range, so an off-by-one
// in the switch fails here.
func TestWideBoundaries(t *testing.T) {
	ranges := [][2]rune{
		{0x1100, 0x115F}, {0x2E80, 0x2FDF}, {0x2FF0, 0x303E}, {0x3041, 0x3247},
		{0x3250, 0x4DBF}, {0x4E00, 0xA4CF}, {0xA960, 0xA97F}, {0xAC00, 0xD7A3},
		{0xF900, 0xFAFF}, {0xFE10, 0xFE19}, {0xFE30, 0xFE6F}, {0xFF01, 0xFF60},
		{0xFFE0, 0xFFE6}, {0x1B000, 0x1B2FF}, {0x20000, 0x3FFFD},
	}
	for _, r := range ranges {
		for _, c := range []struct {
			r    rune
			want bool
		}{{r[0] - 1, false}, {r[0], true}, {r[1], true}, {r[1] + 1, false}} {
			if got := wide(c.r); got != c.want {
				t.Errorf("wide(%U) = %v, want %v", c.r, got, c.want)
			}
		}
	}
}

func TestIsJSONObject(t *testing.T) {
	cases := map[string]bool{
		`{}`: true, ` {"a":1}`: true, `[]`: false, `null`: false, `"x"`: false, `{`: false, ``: false,
	}
	for in, want := range cases {
		if got := isJSONObject([]byte(in)); got != want {
			t.Errorf("isJSONObject(%q) = %v, want %v", in, got, want)
		}
	}
}
