package easemobsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// Documented request rules (seed 001; providers.md section B).
const (
	maxTargets      = 100 // push/single
	maxTitleWidth   = 32  // a CJK character counts 2
	maxSubTitleLen  = 10
	maxContentLen   = 100
	maxExtPairs     = 10
	maxExtChars     = 1024
	startDateLayout = "2006-01-02 15:04:05" // yyyy-MM-dd HH:mm:ss
	minLead         = time.Hour
	maxLead         = 30 * 24 * time.Hour
)

// pushRequest is a push body, parsed the way the API reads it.
type pushRequest struct {
	targets     []string
	strategy    *int
	pushMessage json.RawMessage
	startDate   string
	start       time.Time // startDate in the server's zone; zero if none
}

// what each endpoint's body may hold.
type bodyRules struct {
	targets    bool // a targets list is required
	maxTargets int
	startDate  bool // startDate is allowed
}

// parsePush parses and validates a push body, answering the call itself
// (400) when the body breaks a rule.
func (s *Server) parsePush(c *call, body []byte, rules bodyRules) (*pushRequest, bool) {
	m, err := decodeObject(body)
	if err != nil {
		c.fail(http.StatusBadRequest, errJSONParse(err))
		return nil, false
	}
	bad := func(e apiError) (*pushRequest, bool) {
		c.fail(http.StatusBadRequest, e)
		return nil, false
	}
	req := &pushRequest{}
	if rules.targets {
		raw, ok := m["targets"]
		if !ok || string(raw) == "null" {
			return bad(errIllegalArgument("targets is required"))
		}
		if err := json.Unmarshal(raw, &req.targets); err != nil {
			return bad(errIllegalArgument("targets must be a list of strings"))
		}
		if len(req.targets) == 0 || len(req.targets) > rules.maxTargets {
			return bad(errIllegalArgument(fmt.Sprintf("targets must hold 1 to %d entries, got %d", rules.maxTargets, len(req.targets))))
		}
		for i, t := range req.targets {
			if t == "" {
				return bad(errIllegalArgument(fmt.Sprintf("targets[%d] is empty", i)))
			}
		}
	}
	if raw, ok := m["strategy"]; ok && string(raw) != "null" {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil || !isInteger(raw) {
			return bad(errIllegalArgument("strategy must be an integer"))
		}
		v, err := strconv.Atoi(n.String())
		if err != nil || v < 0 || v > 4 {
			return bad(errIllegalArgument("strategy must be 0, 1, 2, 3 or 4"))
		}
		req.strategy = &v
	}
	pm, ok := m["pushMessage"]
	if !ok || string(pm) == "null" {
		return bad(errMessage("pushMessage is required"))
	}
	if why := checkPushMessage(pm); why != "" {
		return bad(errMessage(why))
	}
	req.pushMessage = pm
	if raw, ok := m["startDate"]; ok && rules.startDate && string(raw) != "null" {
		if err := json.Unmarshal(raw, &req.startDate); err != nil {
			return bad(errIllegalArgument("startDate must be a string yyyy-MM-dd HH:mm:ss"))
		}
		start, why := s.checkStartDate(req.startDate)
		if why != "" {
			return bad(errIllegalArgument(why))
		}
		req.start = start
	}
	return req, true
}

// isInteger reports whether a JSON number literal has no fraction or
// exponent: Easemob's strategy is an Int.
func isInteger(raw json.RawMessage) bool {
	for _, b := range raw {
		if b == '.' || b == 'e' || b == 'E' || b == '"' {
			return false
		}
	}
	return true
}

// checkStartDate applies the documented window: more than 1 h and less than
// 30 days ahead, read in the server's zone.
func (s *Server) checkStartDate(v string) (time.Time, string) {
	t, err := time.ParseInLocation(startDateLayout, v, s.opts.Zone)
	if err != nil || t.Format(startDateLayout) != v {
		return time.Time{}, "startDate must be formatted yyyy-MM-dd HH:mm:ss"
	}
	now := s.now()
	if !t.After(now.Add(minLead)) || !t.Before(now.Add(maxLead)) {
		return time.Time{}, "startDate must be more than 1 hour and less than 30 days ahead"
	}
	return t, ""
}

// checkPushMessage validates the pushMessage object and says what is wrong
// with it, or "" if nothing is.
func checkPushMessage(raw json.RawMessage) string {
	var pm map[string]json.RawMessage
	if err := json.Unmarshal(raw, &pm); err != nil || pm == nil {
		return "pushMessage must be an object"
	}
	text := func(key string) (string, string) {
		v, ok := pm[key]
		if !ok || string(v) == "null" {
			return "", ""
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", key + " must be a string"
		}
		return s, ""
	}
	title, why := text("title")
	if why != "" {
		return why
	}
	if w := width(title); w > maxTitleWidth {
		return fmt.Sprintf("title is %d wide, at most %d (a CJK character counts 2)", w, maxTitleWidth)
	}
	// The structure says subTitle; the docs' own examples write sub_title,
	// so both are read [U].
	for _, key := range []string{"subTitle", "sub_title"} {
		v, why := text(key)
		if why != "" {
			return why
		}
		if n := utf8.RuneCountInString(v); n > maxSubTitleLen {
			return fmt.Sprintf("%s has %d characters, at most %d", key, n, maxSubTitleLen)
		}
	}
	content, why := text("content")
	if why != "" {
		return why
	}
	if n := utf8.RuneCountInString(content); n > maxContentLen {
		return fmt.Sprintf("content has %d characters, at most %d", n, maxContentLen)
	}
	if v, ok := pm["ext"]; ok && string(v) != "null" {
		var ext map[string]json.RawMessage
		if err := json.Unmarshal(v, &ext); err != nil {
			return "ext must be an object"
		}
		if len(ext) > maxExtPairs {
			return fmt.Sprintf("ext has %d pairs, at most %d", len(ext), maxExtPairs)
		}
		if n := utf8.RuneCount(v); n > maxExtChars {
			return fmt.Sprintf("ext is %d characters, at most %d", n, maxExtChars)
		}
	}
	for _, key := range []string{"config", "easemob", "apns", "fcm", "fcmV1", "huawei", "honor", "meizu", "oppo", "vivo", "xiaomi"} {
		v, ok := pm[key]
		if !ok || string(v) == "null" {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(v, &obj); err != nil {
			return key + " must be an object"
		}
	}
	return ""
}

// width counts a string the way Easemob measures titles: CJK characters
// (Han, kana, Hangul, CJK punctuation and fullwidth forms) count 2, every
// other character 1. Halfwidth katakana are narrow.
func width(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0xFF61 && r <= 0xFF9F {
			continue
		}
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
			(r >= 0x3000 && r <= 0x303F) || // CJK symbols and punctuation
			(r >= 0xFF01 && r <= 0xFF60) || (r >= 0xFFE0 && r <= 0xFFE6) { // fullwidth forms
			n++
		}
	}
	return n
}
