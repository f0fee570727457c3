package tasks

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Easemob's documented limits (providers.md section B, seed 001).
const (
	// easemobMaxTargets is the most users push/single takes in one call.
	easemobMaxTargets = 100
	// easemobMaxBody is the largest request body Easemob accepts; a larger
	// one is answered with HTTP 413.
	easemobMaxBody = 5 << 10
	// Widths of the pushMessage texts, a CJK character counting 2.
	easemobMaxTitle    = 32
	easemobMaxSubTitle = 10
	easemobMaxContent  = 100
	// pushMessage.ext: at most this many pairs, this many characters of JSON.
	easemobMaxExtPairs = 10
	easemobMaxExtChars = 1024
	// easemobMaxStrategy is the highest push strategy (0 to 4).
	easemobMaxStrategy = 4

	// easemobStartDateLayout is startDate's format, yyyy-MM-dd HH:mm:ss.
	easemobStartDateLayout = "2006-01-02 15:04:05"
	// A startDate must be more than easemobMinLead and less than
	// easemobMaxLead after now.
	easemobMinLead = time.Hour
	easemobMaxLead = 30 * 24 * time.Hour
)

// PushMessage is Easemob's pushMessage object: the notification itself.
// Vendor blocks (apns, fcm, huawei, …) override the base fields for that
// vendor's channel and are passed through as given; each must be a JSON
// object.
//
// Herald requires Title and Content even when vendor blocks are present:
// the base fields are what Easemob's own channel and any vendor without a
// block show, and a push with neither is almost always a bug.
type PushMessage struct {
	// Title is at most 32 wide, a CJK character counting 2 (see width).
	Title string `json:"title,omitempty"`
	// SubTitle is shown by iOS only; at most 10 wide.
	SubTitle string `json:"subTitle,omitempty"`
	// Content is at most 100 wide. The docs say "≤100" without saying how
	// CJK counts [U]; Herald counts it like the title (CJK = 2), the reading
	// that can never let through a text the provider rejects.
	Content string `json:"content,omitempty"`
	// Ext holds at most 10 custom pairs whose JSON is at most 1024
	// characters.
	Ext     Ext             `json:"ext,omitempty"`
	Config  *PushConfig     `json:"config,omitempty"`
	Easemob json.RawMessage `json:"easemob,omitempty"`
	APNs    json.RawMessage `json:"apns,omitempty"`
	FCM     json.RawMessage `json:"fcm,omitempty"`
	FCMV1   json.RawMessage `json:"fcmV1,omitempty"`
	Huawei  json.RawMessage `json:"huawei,omitempty"`
	Honor   json.RawMessage `json:"honor,omitempty"`
	Meizu   json.RawMessage `json:"meizu,omitempty"`
	Oppo    json.RawMessage `json:"oppo,omitempty"`
	Vivo    json.RawMessage `json:"vivo,omitempty"`
	Xiaomi  json.RawMessage `json:"xiaomi,omitempty"`
}

// PushConfig is pushMessage.config.
type PushConfig struct {
	ClickAction *ClickAction `json:"clickAction,omitempty"`
	Badge       *Badge       `json:"badge,omitempty"`
}

// ClickAction is what tapping the notification does.
type ClickAction struct {
	URL      string `json:"url,omitempty"`
	Action   string `json:"action,omitempty"`
	Activity string `json:"activity,omitempty"`
}

// Badge changes the app icon's badge number.
type Badge struct {
	AddNum   *int   `json:"addNum,omitempty"`
	SetNum   *int   `json:"setNum,omitempty"`
	Activity string `json:"activity,omitempty"`
}

// EasemobPushSync pushes to one user and waits for the vendor's verdict
// (POST /{org}/{app}/push/sync/{target}). Easemob allows 1 call/s per app.
// A vendor's refusal ("no push binding") still comes back as HTTP 200 with
// pushStatus FAIL. The request body must stay within 5 KB.
type EasemobPushSync struct {
	// Target is the user id. It goes in the URL path, so it may not be
	// "." or "..", nor hold control characters, spaces or URL delimiters
	// (/ \ ? # % & = + ;).
	Target string `json:"target"`
	// Strategy picks the channels, 0 to 4; nil means Easemob's default, 2
	// (vendor channels only).
	Strategy    *int        `json:"strategy,omitempty"`
	PushMessage PushMessage `json:"pushMessage"`
}

// EasemobPushAsync pushes to one user without waiting for the vendor
// (POST /{org}/{app}/push/async/{target}). The request body must stay
// within 5 KB.
type EasemobPushAsync struct {
	// Target is the user id. It goes in the URL path, so it may not be
	// "." or "..", nor hold control characters, spaces or URL delimiters
	// (/ \ ? # % & = + ;).
	Target string `json:"target"`
	// Strategy picks the channels, 0 to 4; nil means 2.
	Strategy    *int        `json:"strategy,omitempty"`
	PushMessage PushMessage `json:"pushMessage"`
}

// EasemobPushSingle pushes to a list of users (POST /{org}/{app}/push/single),
// 10 calls/s per app. Easemob takes at most 100 targets and 5 KB of body a
// call; the Producer splits a longer list, in order, into as many tasks as
// it needs. Targets must be distinct and non-empty.
type EasemobPushSingle struct {
	Targets []string `json:"targets"`
	// Strategy picks the channels, 0 to 4; nil means 2.
	Strategy    *int        `json:"strategy,omitempty"`
	PushMessage PushMessage `json:"pushMessage"`
}

// EasemobPushLabel pushes to every user under one label
// (POST /{org}/{app}/push/list/label), 10 calls/s per app. It creates an
// Easemob push task: at most 3 run at once and 3 may be created per 5
// minutes.
type EasemobPushLabel struct {
	// Targets holds exactly one label name.
	Targets []string `json:"targets"`
	// StartDate, if set, schedules the task on Easemob's side. See
	// EasemobStartDate.
	StartDate string `json:"startDate,omitempty"`
	// Strategy picks the channels, 0 to 4; nil means 2.
	Strategy    *int        `json:"strategy,omitempty"`
	PushMessage PushMessage `json:"pushMessage"`
}

// EasemobPushTask pushes to all users of the app (POST /{org}/{app}/push/task),
// 1 call/s per app. It creates an Easemob push task, which counts against
// the 3-per-5-minutes quota from its creation even before it runs.
type EasemobPushTask struct {
	// StartDate, if set, schedules the task on Easemob's side. See
	// EasemobStartDate.
	StartDate string `json:"startDate,omitempty"`
	// Strategy picks the channels, 0 to 4; nil means 2.
	Strategy    *int        `json:"strategy,omitempty"`
	PushMessage PushMessage `json:"pushMessage"`
}

func (*EasemobPushSync) Type() string   { return TypeEasemobPushSync }
func (*EasemobPushAsync) Type() string  { return TypeEasemobPushAsync }
func (*EasemobPushSingle) Type() string { return TypeEasemobPushSingle }
func (*EasemobPushLabel) Type() string  { return TypeEasemobPushLabel }
func (*EasemobPushTask) Type() string   { return TypeEasemobPushTask }

// EasemobStartDate formats t as a startDate: yyyy-MM-dd HH:mm:ss on the wall
// clock of zone, the Easemob server's time zone (nil means
// ChinaStandardTime). Seconds are truncated, so to be safely past the
// 1-hour minimum pass a time at least 1 h 1 s ahead.
func EasemobStartDate(t time.Time, zone *time.Location) string {
	if zone == nil {
		zone = ChinaStandardTime()
	}
	return t.In(zone).Format(easemobStartDateLayout)
}

// Validate checks the job against Easemob's rules for push/sync.
func (j *EasemobPushSync) Validate(env Env) error {
	_, err := j.validateEncoded(env)
	return err
}

func (j *EasemobPushSync) validateEncoded(Env) ([]byte, error) {
	return validateEasemobUser(TypeEasemobPushSync, j.Target, j.Strategy, &j.PushMessage, j)
}

// Validate checks the job against Easemob's rules for push/async.
func (j *EasemobPushAsync) Validate(env Env) error {
	_, err := j.validateEncoded(env)
	return err
}

func (j *EasemobPushAsync) validateEncoded(Env) ([]byte, error) {
	return validateEasemobUser(TypeEasemobPushAsync, j.Target, j.Strategy, &j.PushMessage, j)
}

// validateEasemobUser checks a push to one user; body is the job itself,
// whose JSON it returns (see validateEasemobBody).
func validateEasemobUser(job, target string, strategy *int, msg *PushMessage, body any) ([]byte, error) {
	if target == "" {
		return nil, invalid(job, "target", "empty user id")
	}
	if rule := urlIDRule(target); rule != "" {
		return nil, invalid(job, "target", rule)
	}
	if err := validateStrategy(job, strategy); err != nil {
		return nil, err
	}
	if err := msg.validate(job); err != nil {
		return nil, err
	}
	return validateEasemobBody(job, body)
}

// Validate checks the job against Easemob's rules for push/single, as one
// call: at most 100 targets.
func (j *EasemobPushSingle) Validate(env Env) error {
	_, err := j.validateEncoded(env)
	return err
}

func (j *EasemobPushSingle) validateEncoded(Env) ([]byte, error) {
	if err := j.validateWhole(); err != nil {
		return nil, err
	}
	if n := len(j.Targets); n > easemobMaxTargets {
		return nil, invalid(TypeEasemobPushSingle, "targets",
			fmt.Sprintf("%d user ids, more than %d in one call", n, easemobMaxTargets))
	}
	return validateEasemobBody(TypeEasemobPushSingle, j)
}

// validateWhole checks every rule but the per-call limits (100 targets, 5 KB
// of body), so that prepare can check the caller's whole list, with errors
// naming indexes in it, before cutting it into calls. The body is measured
// without the targets: if that alone is too large, no split can help.
func (j *EasemobPushSingle) validateWhole() error {
	const job = TypeEasemobPushSingle
	if len(j.Targets) == 0 {
		return invalid(job, "targets", "needs at least one user id")
	}
	seen := make(map[string]int, len(j.Targets))
	for i, t := range j.Targets {
		if t == "" {
			return invalid(job, index("targets", i), "empty user id")
		}
		if first, dup := seen[t]; dup {
			return invalid(job, index("targets", i), "duplicate of "+index("targets", first))
		}
		seen[t] = i
	}
	if err := validateStrategy(job, j.Strategy); err != nil {
		return err
	}
	if err := j.PushMessage.validate(job); err != nil {
		return err
	}
	rest := *j
	rest.Targets = []string{}
	_, err := validateEasemobBody(job, &rest)
	return err
}

// split cuts the targets, in order, into runs that fit one call: at most 100
// targets and at most 5 KB of body. With typical user ids that is runs of
// 100 (250 → 100, 100, 50); long ids make runs shorter. Every part shares
// the job's Strategy and PushMessage (and so its Ext map): do not mutate
// them after enqueueing.
func (j *EasemobPushSingle) split() []Job {
	rest := *j
	rest.Targets = []string{}
	b, err := json.Marshal(&rest)
	if err != nil {
		return []Job{j} // Validate reports it
	}
	base := len(b) // the body with "targets":[]
	var parts []Job
	start, size := 0, base
	for i, t := range j.Targets {
		tb, _ := json.Marshal(t) // a string always encodes
		n := len(tb)
		if i > start {
			n++ // the comma before it
			if i-start == easemobMaxTargets || size+n > easemobMaxBody {
				parts = append(parts, j.withTargets(j.Targets[start:i:i]))
				start, size, n = i, base, len(tb)
			}
		}
		size += n
	}
	if start == 0 {
		return []Job{j}
	}
	return append(parts, j.withTargets(j.Targets[start:len(j.Targets):len(j.Targets)]))
}

func (j *EasemobPushSingle) withTargets(targets []string) *EasemobPushSingle {
	part := *j
	part.Targets = targets
	return &part
}

// Validate checks the job against Easemob's rules for push/list/label:
// exactly one label, and a startDate, if any, in the allowed window.
func (j *EasemobPushLabel) Validate(env Env) error {
	_, err := j.validateEncoded(env)
	return err
}

func (j *EasemobPushLabel) validateEncoded(env Env) ([]byte, error) {
	const job = TypeEasemobPushLabel
	switch {
	case len(j.Targets) != 1:
		return nil, invalid(job, "targets", fmt.Sprintf("needs exactly one label, has %d", len(j.Targets)))
	case j.Targets[0] == "":
		return nil, invalid(job, "targets[0]", "empty label")
	}
	if err := validateStartDate(job, j.StartDate, env); err != nil {
		return nil, err
	}
	if err := validateStrategy(job, j.Strategy); err != nil {
		return nil, err
	}
	if err := j.PushMessage.validate(job); err != nil {
		return nil, err
	}
	return validateEasemobBody(job, j)
}

// Validate checks the job against Easemob's rules for push/task: a
// startDate, if any, in the allowed window.
func (j *EasemobPushTask) Validate(env Env) error {
	_, err := j.validateEncoded(env)
	return err
}

func (j *EasemobPushTask) validateEncoded(env Env) ([]byte, error) {
	const job = TypeEasemobPushTask
	if err := validateStartDate(job, j.StartDate, env); err != nil {
		return nil, err
	}
	if err := validateStrategy(job, j.Strategy); err != nil {
		return nil, err
	}
	if err := j.PushMessage.validate(job); err != nil {
		return nil, err
	}
	return validateEasemobBody(job, j)
}

func validateStrategy(job string, strategy *int) error {
	if strategy != nil && (*strategy < 0 || *strategy > easemobMaxStrategy) {
		return invalid(job, "strategy", fmt.Sprintf("must be 0 to %d, is %d", easemobMaxStrategy, *strategy))
	}
	return nil
}

// validateStartDate checks that s, if set, is yyyy-MM-dd HH:mm:ss and, read
// in env's zone (the Easemob server's), lies more than 1 h and less than 30
// days after env's now. The window is checked when the job is validated:
// a job queued for later delivery may leave it before it runs.
func validateStartDate(job, s string, env Env) error {
	if s == "" {
		return nil
	}
	zone := env.zone()
	t, err := time.ParseInLocation(easemobStartDateLayout, s, zone)
	// ParseInLocation takes "2024-01-01 1:00:00"; Easemob wants exactly the
	// documented form, so the value must also be its own formatting.
	if err != nil || t.Format(easemobStartDateLayout) != s {
		return invalid(job, "startDate", "must be yyyy-MM-dd HH:mm:ss, e.g. 2024-01-01 12:00:00")
	}
	if ahead := t.Sub(env.now()); ahead <= easemobMinLead || ahead >= easemobMaxLead {
		is := fmt.Sprintf("%v ahead", ahead.Round(time.Second))
		if ahead < 0 {
			is = fmt.Sprintf("%v in the past", -ahead.Round(time.Second))
		}
		return invalid(job, "startDate", fmt.Sprintf(
			"must be more than 1 h and less than 30 days ahead; is %s, read in zone %s", is, zone))
	}
	return nil
}

// validateEasemobBody checks that body encodes and stays within Easemob's
// 5 KB, and returns its JSON. The body is the job as it is enqueued, which
// for push/sync and push/async also carries the target that goes in the
// path, so the check errs a few bytes on the safe side; and so the JSON is
// the task's payload, which Enqueue takes from here rather than encode the
// job twice (see encodingJob). Only pushMessage is unbounded once the
// other rules hold, so it is the field named.
func validateEasemobBody(job string, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, invalid(job, "pushMessage", "does not encode as JSON: "+err.Error())
	}
	if len(b) > easemobMaxBody {
		return nil, invalid(job, "pushMessage",
			fmt.Sprintf("request body is %d bytes, over Easemob's 5 KB (%d bytes)", len(b), easemobMaxBody))
	}
	return b, nil
}

func (m *PushMessage) validate(job string) error {
	texts := []struct {
		field    string
		s        string
		max      int
		required bool
	}{
		{"pushMessage.title", m.Title, easemobMaxTitle, true},
		{"pushMessage.subTitle", m.SubTitle, easemobMaxSubTitle, false},
		{"pushMessage.content", m.Content, easemobMaxContent, true},
	}
	for _, t := range texts {
		if t.s == "" {
			if t.required {
				return invalid(job, t.field, "required")
			}
			continue
		}
		if w := width(t.s); w > t.max {
			return invalid(job, t.field,
				fmt.Sprintf("is %d wide, more than %d (a CJK character counts 2)", w, t.max))
		}
	}
	if n := len(m.Ext); n > easemobMaxExtPairs {
		return invalid(job, "pushMessage.ext", fmt.Sprintf("%d pairs, more than %d", n, easemobMaxExtPairs))
	}
	if len(m.Ext) > 0 {
		n, err := jsonChars(m.Ext)
		if err != nil {
			return invalid(job, "pushMessage.ext", "does not encode as JSON: "+err.Error())
		}
		if n > easemobMaxExtChars {
			return invalid(job, "pushMessage.ext",
				fmt.Sprintf("is %d characters of JSON, more than %d", n, easemobMaxExtChars))
		}
	}
	if b := m.Config; b != nil && b.Badge != nil {
		for _, n := range []struct {
			field string
			v     *int
		}{{"addNum", b.Badge.AddNum}, {"setNum", b.Badge.SetNum}} {
			if n.v != nil && (*n.v < math.MinInt32 || *n.v > math.MaxInt32) {
				return invalid(job, "pushMessage.config.badge."+n.field,
					fmt.Sprintf("must fit in 32 bits (%d to %d), is %d", math.MinInt32, math.MaxInt32, *n.v))
			}
		}
	}
	vendors := []struct {
		name string
		raw  json.RawMessage
	}{
		{"easemob", m.Easemob}, {"apns", m.APNs}, {"fcm", m.FCM}, {"fcmV1", m.FCMV1},
		{"huawei", m.Huawei}, {"honor", m.Honor}, {"meizu", m.Meizu}, {"oppo", m.Oppo},
		{"vivo", m.Vivo}, {"xiaomi", m.Xiaomi},
	}
	for _, v := range vendors {
		if len(v.raw) > 0 && !isJSONObject(v.raw) {
			return invalid(job, "pushMessage."+v.name, "must be a JSON object")
		}
	}
	return nil
}
