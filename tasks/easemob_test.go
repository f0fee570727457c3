package tasks_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/tasks"
)

// checkInvalid asserts that err is nil when field is "", and otherwise a
// *tasks.ValidationError for job that names field and whose rule contains
// rule.
func checkInvalid(t *testing.T, err error, job, field, rule string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("Validate() = %v, want nil", err)
		}
		return
	}
	var verr *tasks.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Validate() = %v, want a *tasks.ValidationError for %s", err, field)
	}
	if verr.Job != job || verr.Field != field || !strings.Contains(verr.Rule, rule) {
		t.Fatalf("Validate() = {Job:%q Field:%q Rule:%q}, want {Job:%q Field:%q Rule containing %q}",
			verr.Job, verr.Field, verr.Rule, job, field, rule)
	}
}

func intp(i int) *int { return &i }

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func okMessage() tasks.PushMessage {
	return tasks.PushMessage{Title: "Hello", Content: "Your parcel has shipped"}
}

// pushMessageCases break one pushMessage rule each. Every Easemob job shares
// them.
var pushMessageCases = []struct {
	name        string
	edit        func(*tasks.PushMessage)
	field, rule string
}{
	{"valid", func(*tasks.PushMessage) {}, "", ""},
	{"title missing", func(m *tasks.PushMessage) { m.Title = "" }, "pushMessage.title", "required"},
	{"title 32 ASCII", func(m *tasks.PushMessage) { m.Title = strings.Repeat("a", 32) }, "", ""},
	{"title 33 ASCII", func(m *tasks.PushMessage) { m.Title = strings.Repeat("a", 33) }, "pushMessage.title", "is 33 wide, more than 32"},
	{"title 16 Han", func(m *tasks.PushMessage) { m.Title = strings.Repeat("环", 16) }, "", ""},
	{"title 17 Han", func(m *tasks.PushMessage) { m.Title = strings.Repeat("环", 17) }, "pushMessage.title", "is 34 wide"},
	{"title mixed 32", func(m *tasks.PushMessage) { m.Title = "环信推送" + strings.Repeat("a", 24) }, "", ""},
	{"title mixed 33", func(m *tasks.PushMessage) { m.Title = "环信推送" + strings.Repeat("a", 25) }, "pushMessage.title", "is 33 wide"},
	{"title 32 halfwidth katakana", func(m *tasks.PushMessage) { m.Title = strings.Repeat("ｶ", 32) }, "", ""},
	{"title 17 fullwidth letters", func(m *tasks.PushMessage) { m.Title = strings.Repeat("Ａ", 17) }, "pushMessage.title", "is 34 wide"},
	{"subTitle 10", func(m *tasks.PushMessage) { m.SubTitle = strings.Repeat("s", 10) }, "", ""},
	{"subTitle 11", func(m *tasks.PushMessage) { m.SubTitle = strings.Repeat("s", 11) }, "pushMessage.subTitle", "more than 10"},
	{"subTitle 5 Hangul", func(m *tasks.PushMessage) { m.SubTitle = strings.Repeat("한", 5) }, "", ""},
	{"subTitle 6 Hangul", func(m *tasks.PushMessage) { m.SubTitle = strings.Repeat("한", 6) }, "pushMessage.subTitle", "is 12 wide"},
	{"content missing", func(m *tasks.PushMessage) { m.Content = "" }, "pushMessage.content", "required"},
	{"content 100", func(m *tasks.PushMessage) { m.Content = strings.Repeat("c", 100) }, "", ""},
	{"content 101", func(m *tasks.PushMessage) { m.Content = strings.Repeat("c", 101) }, "pushMessage.content", "more than 100"},
	{"content 50 kana", func(m *tasks.PushMessage) { m.Content = strings.Repeat("か", 50) }, "", ""},
	{"content 51 kana", func(m *tasks.PushMessage) { m.Content = strings.Repeat("か", 51) }, "pushMessage.content", "is 102 wide"},
	{"ext 10 pairs", func(m *tasks.PushMessage) { m.Ext = extPairs(10) }, "", ""},
	{"badge addNum beyond 32 bits", func(m *tasks.PushMessage) {
		m.Config = &tasks.PushConfig{Badge: &tasks.Badge{AddNum: intp(1 << 31)}}
	}, "pushMessage.config.badge.addNum", "must fit in 32 bits"},
	{"badge setNum 32 bits", func(m *tasks.PushMessage) {
		m.Config = &tasks.PushConfig{Badge: &tasks.Badge{SetNum: intp(1<<31 - 1)}}
	}, "", ""},
	{"ext 11 pairs", func(m *tasks.PushMessage) { m.Ext = extPairs(11) }, "pushMessage.ext", "11 pairs, more than 10"},
	// {"k":"…"} is 8 characters of JSON around the value.
	{"ext 1024 chars", func(m *tasks.PushMessage) { m.Ext = map[string]any{"k": strings.Repeat("x", 1016)} }, "", ""},
	{"ext 1025 chars", func(m *tasks.PushMessage) { m.Ext = map[string]any{"k": strings.Repeat("x", 1017)} }, "pushMessage.ext", "1025 characters"},
	{"ext counts characters, not bytes", func(m *tasks.PushMessage) { m.Ext = map[string]any{"k": strings.Repeat("环", 1016)} }, "", ""},
	{"ext does not encode", func(m *tasks.PushMessage) { m.Ext = map[string]any{"k": make(chan int)} }, "pushMessage.ext", "does not encode"},
	{"vendor block empty object", func(m *tasks.PushMessage) { m.Vivo = json.RawMessage(`{}`) }, "", ""},
	{"vendor block array", func(m *tasks.PushMessage) { m.Huawei = json.RawMessage(`[1]`) }, "pushMessage.huawei", "JSON object"},
	{"vendor block broken", func(m *tasks.PushMessage) { m.FCMV1 = json.RawMessage(`{"a":`) }, "pushMessage.fcmV1", "JSON object"},
	{"body over 5 KB", func(m *tasks.PushMessage) { m.APNs = json.RawMessage(`{"x":"` + strings.Repeat("a", 5200) + `"}`) }, "pushMessage", "over Easemob's 5 KB"},
}

func extPairs(n int) map[string]any {
	ext := make(map[string]any, n)
	for i := range n {
		ext[fmt.Sprintf("k%d", i)] = i
	}
	return ext
}

// easemobJobs builds a valid job of each Easemob type around a message.
var easemobJobs = []struct {
	typ   string
	build func(tasks.PushMessage) tasks.Job
}{
	{tasks.TypeEasemobPushSync, func(m tasks.PushMessage) tasks.Job { return &tasks.EasemobPushSync{Target: "u1", PushMessage: m} }},
	{tasks.TypeEasemobPushAsync, func(m tasks.PushMessage) tasks.Job { return &tasks.EasemobPushAsync{Target: "u1", PushMessage: m} }},
	{tasks.TypeEasemobPushSingle, func(m tasks.PushMessage) tasks.Job {
		return &tasks.EasemobPushSingle{Targets: []string{"u1", "u2"}, PushMessage: m}
	}},
	{tasks.TypeEasemobPushLabel, func(m tasks.PushMessage) tasks.Job {
		return &tasks.EasemobPushLabel{Targets: []string{"post-90s"}, PushMessage: m}
	}},
	{tasks.TypeEasemobPushTask, func(m tasks.PushMessage) tasks.Job { return &tasks.EasemobPushTask{PushMessage: m} }},
}

func TestEasemobPushMessage(t *testing.T) {
	for _, j := range easemobJobs {
		for _, tc := range pushMessageCases {
			t.Run(j.typ+"/"+tc.name, func(t *testing.T) {
				m := okMessage()
				tc.edit(&m)
				job := j.build(m)
				if job.Type() != j.typ {
					t.Fatalf("Type() = %q, want %q", job.Type(), j.typ)
				}
				checkInvalid(t, job.Validate(tasks.Env{}), j.typ, tc.field, tc.rule)
			})
		}
	}
}

func TestEasemobStrategy(t *testing.T) {
	cases := []struct {
		strategy    *int
		field, rule string
	}{
		{nil, "", ""},
		{intp(0), "", ""},
		{intp(2), "", ""},
		{intp(4), "", ""},
		{intp(-1), "strategy", "must be 0 to 4, is -1"},
		{intp(5), "strategy", "must be 0 to 4, is 5"},
	}
	for _, tc := range cases {
		jobs := []tasks.Job{
			&tasks.EasemobPushSync{Target: "u1", Strategy: tc.strategy, PushMessage: okMessage()},
			&tasks.EasemobPushAsync{Target: "u1", Strategy: tc.strategy, PushMessage: okMessage()},
			&tasks.EasemobPushSingle{Targets: []string{"u1"}, Strategy: tc.strategy, PushMessage: okMessage()},
			&tasks.EasemobPushLabel{Targets: []string{"l"}, Strategy: tc.strategy, PushMessage: okMessage()},
			&tasks.EasemobPushTask{Strategy: tc.strategy, PushMessage: okMessage()},
		}
		for _, job := range jobs {
			name := job.Type() + "/nil"
			if tc.strategy != nil {
				name = fmt.Sprintf("%s/%d", job.Type(), *tc.strategy)
			}
			t.Run(name, func(t *testing.T) {
				checkInvalid(t, job.Validate(tasks.Env{}), job.Type(), tc.field, tc.rule)
			})
		}
	}
}

func TestEasemobPushUser(t *testing.T) {
	cases := []struct {
		name, target string
		field, rule  string
	}{
		{"valid", "user_1", "", ""},
		{"CJK id", "用户一", "", ""},
		{"empty", "", "target", "empty user id"},
		{"slash", "a/b", "target", "must not contain '/'"},
	}
	for _, tc := range cases {
		t.Run("sync/"+tc.name, func(t *testing.T) {
			job := &tasks.EasemobPushSync{Target: tc.target, PushMessage: okMessage()}
			checkInvalid(t, job.Validate(tasks.Env{}), tasks.TypeEasemobPushSync, tc.field, tc.rule)
		})
		t.Run("async/"+tc.name, func(t *testing.T) {
			job := &tasks.EasemobPushAsync{Target: tc.target, PushMessage: okMessage()}
			checkInvalid(t, job.Validate(tasks.Env{}), tasks.TypeEasemobPushAsync, tc.field, tc.rule)
		})
	}
}

func TestEasemobPushSingle(t *testing.T) {
	cases := []struct {
		name        string
		targets     []string
		field, rule string
	}{
		{"one", []string{"u1"}, "", ""},
		{"100", ids("u", 100), "", ""},
		{"slash is fine in the body", []string{"a/b"}, "", ""},
		{"none", nil, "targets", "needs at least one user id"},
		{"empty list", []string{}, "targets", "needs at least one user id"},
		{"101", ids("u", 101), "targets", "101 user ids, more than 100 in one call"},
		{"empty id", []string{"u0", "u1", "u2", "", "u4"}, "targets[3]", "empty user id"},
		{"duplicate", []string{"u0", "u1", "u0"}, "targets[2]", "duplicate of targets[0]"},
		// 100 ids of 60 characters make a body of about 6.3 KB.
		{"body over 5 KB", ids(strings.Repeat("x", 58), 100), "pushMessage", "over Easemob's 5 KB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := &tasks.EasemobPushSingle{Targets: tc.targets, PushMessage: okMessage()}
			checkInvalid(t, job.Validate(tasks.Env{}), tasks.TypeEasemobPushSingle, tc.field, tc.rule)
		})
	}
}

func TestEasemobPushLabel(t *testing.T) {
	cases := []struct {
		name        string
		targets     []string
		field, rule string
	}{
		{"one label", []string{"post-90s"}, "", ""},
		{"none", nil, "targets", "needs exactly one label, has 0"},
		{"two", []string{"a", "b"}, "targets", "needs exactly one label, has 2"},
		{"empty label", []string{""}, "targets[0]", "empty label"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := &tasks.EasemobPushLabel{Targets: tc.targets, PushMessage: okMessage()}
			checkInvalid(t, job.Validate(tasks.Env{}), tasks.TypeEasemobPushLabel, tc.field, tc.rule)
		})
	}
}

func TestEasemobStartDate(t *testing.T) {
	cst := tasks.ChinaStandardTime()
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, cst)
	inCST := tasks.Env{Now: now}
	inUTC := tasks.Env{Now: now, Zone: time.UTC}
	halfPast := tasks.Env{Now: now.Add(500 * time.Millisecond)}
	cases := []struct {
		name        string
		env         tasks.Env
		startDate   string
		field, rule string
	}{
		{"unset", inCST, "", "", ""},
		{"1 h ahead exactly", inCST, "2024-01-01 13:00:00", "startDate", "more than 1 h and less than 30 days ahead"},
		{"1 h 1 s ahead", inCST, "2024-01-01 13:00:01", "", ""},
		{"30 days less 1 s", inCST, "2024-01-31 11:59:59", "", ""},
		{"30 days exactly", inCST, "2024-01-31 12:00:00", "startDate", "less than 30 days"},
		{"past", inCST, "2023-12-31 12:00:00", "startDate", "more than 1 h"},
		{"now", inCST, "2024-01-01 12:00:00", "startDate", "is 0s ahead"},
		{"ISO 8601", inCST, "2024-01-02T12:00:00", "startDate", "yyyy-MM-dd HH:mm:ss"},
		{"with zone", inCST, "2024-01-02 12:00:00 +0800", "startDate", "yyyy-MM-dd HH:mm:ss"},
		{"no seconds", inCST, "2024-01-02 12:00", "startDate", "yyyy-MM-dd HH:mm:ss"},
		{"one-digit hour", inCST, "2024-01-02 1:00:00", "startDate", "yyyy-MM-dd HH:mm:ss"},
		{"one-digit month", inCST, "2024-1-02 12:00:00", "startDate", "yyyy-MM-dd HH:mm:ss"},
		{"no such day", inCST, "2024-02-30 12:00:00", "startDate", "yyyy-MM-dd HH:mm:ss"},
		// now is 04:00 UTC. 05:30 on the server's wall clock is 1 h 30 min
		// ahead in UTC but 6 h 30 min ago in CST.
		// The window is measured from the exact instant, not rounded.
		{"sub-second now, 59m59.5s ahead", halfPast, "2024-01-01 13:00:00", "startDate", "more than 1 h"},
		{"sub-second now, 1h0m0.5s ahead", halfPast, "2024-01-01 13:00:01", "", ""},
		{"zone UTC", inUTC, "2024-01-01 05:30:00", "", ""},
		{"zone CST", inCST, "2024-01-01 05:30:00", "startDate", "is 6h30m0s in the past, read in zone CST"},
		{"zone defaults to CST", tasks.Env{Now: now.In(time.UTC)}, "2024-01-01 05:30:00", "startDate", "zone CST"},
		{"zone UTC 1 h exactly", inUTC, "2024-01-01 05:00:00", "startDate", "is 1h0m0s ahead, read in zone UTC"},
	}
	for _, tc := range cases {
		t.Run("label/"+tc.name, func(t *testing.T) {
			job := &tasks.EasemobPushLabel{Targets: []string{"l"}, StartDate: tc.startDate, PushMessage: okMessage()}
			checkInvalid(t, job.Validate(tc.env), tasks.TypeEasemobPushLabel, tc.field, tc.rule)
		})
		t.Run("task/"+tc.name, func(t *testing.T) {
			job := &tasks.EasemobPushTask{StartDate: tc.startDate, PushMessage: okMessage()}
			checkInvalid(t, job.Validate(tc.env), tasks.TypeEasemobPushTask, tc.field, tc.rule)
		})
	}
}

func TestEasemobStartDateFormat(t *testing.T) {
	instant := time.Date(2024, 1, 1, 4, 0, 0, 999_000_000, time.UTC)
	cases := []struct {
		zone *time.Location
		want string
	}{
		{nil, "2024-01-01 12:00:00"},
		{tasks.ChinaStandardTime(), "2024-01-01 12:00:00"},
		{time.UTC, "2024-01-01 04:00:00"},
		{time.FixedZone("X", -5*60*60), "2023-12-31 23:00:00"},
	}
	for _, tc := range cases {
		if got := tasks.EasemobStartDate(instant, tc.zone); got != tc.want {
			t.Errorf("EasemobStartDate(%v, %v) = %q, want %q", instant, tc.zone, got, tc.want)
		}
	}

	// What EasemobStartDate writes, Validate accepts in the same zone.
	now := time.Date(2024, 6, 1, 8, 30, 0, 0, time.UTC)
	for _, zone := range []*time.Location{time.UTC, tasks.ChinaStandardTime(), time.FixedZone("X", -7*60*60)} {
		job := &tasks.EasemobPushTask{
			StartDate:   tasks.EasemobStartDate(now.Add(2*time.Hour), zone),
			PushMessage: okMessage(),
		}
		if err := job.Validate(tasks.Env{Now: now, Zone: zone}); err != nil {
			t.Errorf("zone %v: Validate(%q) = %v", zone, job.StartDate, err)
		}
	}
}

func TestValidationErrorMessage(t *testing.T) {
	job := &tasks.EasemobPushSingle{Targets: []string{"a", "b", "c", ""}, PushMessage: okMessage()}
	err := job.Validate(tasks.Env{})
	if got, want := fmt.Sprint(err), "easemob push.single: targets[3]: empty user id"; got != want {
		t.Fatalf("error = %q, want %q", got, want)
	}
}

func ExampleEasemobStartDate() {
	// Easemob reads startDate on its server's wall clock (UTC+8 unless the
	// account says otherwise).
	at := time.Date(2024, 1, 1, 4, 0, 0, 0, time.UTC)
	fmt.Println(tasks.EasemobStartDate(at, nil))
	fmt.Println(tasks.EasemobStartDate(at, time.UTC))
	// Output:
	// 2024-01-01 12:00:00
	// 2024-01-01 04:00:00
}
