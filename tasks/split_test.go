package tasks

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func userIDs(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}

func enosMessages(n int) []EnOSMessage {
	one := 1
	out := make([]EnOSMessage, n)
	for i := range out {
		out[i] = EnOSMessage{
			MessageID:   fmt.Sprintf("m%03d", i),
			MessageType: &one,
			Header:      &I18n{DefaultValue: "Alarm"},
			TargetType:  &one,
			Targets:     []string{"u1"},
		}
	}
	return out
}

func wantField(t *testing.T, err error, field, rule string) {
	t.Helper()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("prepare() error = %v, want a *ValidationError", err)
	}
	if verr.Field != field || !strings.Contains(verr.Rule, rule) {
		t.Fatalf("prepare() error = %v, want field %q with rule containing %q", err, field, rule)
	}
}

func TestPrepareSplitsEasemobTargets(t *testing.T) {
	strategy := 3
	job := &EasemobPushSingle{
		Targets:     userIDs("u", 250),
		Strategy:    &strategy,
		PushMessage: PushMessage{Title: "Hi", Content: "Sale", Ext: map[string]any{"k": "v"}},
	}
	orig := slices.Clone(job.Targets)
	parts, err := prepare(job, Env{})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	var all []string
	for _, p := range parts {
		part, ok := p.(*EasemobPushSingle)
		if !ok {
			t.Fatalf("part is %T, want *EasemobPushSingle", p)
		}
		sizes = append(sizes, len(part.Targets))
		all = append(all, part.Targets...)
		if part.Strategy != job.Strategy || !reflect.DeepEqual(part.PushMessage, job.PushMessage) {
			t.Errorf("part does not share the job's strategy and pushMessage: %+v", part)
		}
	}
	if want := []int{100, 100, 50}; !slices.Equal(sizes, want) {
		t.Fatalf("part sizes = %v, want %v", sizes, want)
	}
	if !slices.Equal(all, orig) {
		t.Fatal("parts do not hold the targets in their original order")
	}
	if !slices.Equal(job.Targets, orig) {
		t.Fatal("prepare changed the caller's job")
	}
	// Appending to one part must not write into the next part's targets.
	first := parts[0].(*EasemobPushSingle)
	_ = append(first.Targets, "intruder")
	if got := parts[1].(*EasemobPushSingle).Targets[0]; got != orig[100] {
		t.Fatalf("append to part 0 overwrote part 1: %q", got)
	}
}

func TestPrepareKeepsOneCallJobs(t *testing.T) {
	jobs := []Job{
		&EasemobPushSingle{Targets: userIDs("u", 100), PushMessage: PushMessage{Title: "t", Content: "c"}},
		&EnOSNoticeProduce{OrgID: "o1", Messages: enosMessages(100)},
		&EasemobPushSync{Target: "u1", PushMessage: PushMessage{Title: "t", Content: "c"}},
		&FeishuExecuteSend{NotificationID: "6985032626234982420", SendAt: "1624326025000"},
		&DingTalkRecall{MsgTaskID: 7},
	}
	for _, job := range jobs {
		t.Run(job.Type(), func(t *testing.T) {
			parts, err := prepare(job, Env{})
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != 1 || parts[0] != job {
				t.Fatalf("prepare() = %v, want the job itself", parts)
			}
		})
	}
}

// Long user ids make 100 targets larger than Easemob's 5 KB body: the parts
// are then cut by size, and each still passes Validate.
func TestPrepareSplitsEasemobBySize(t *testing.T) {
	job := &EasemobPushSingle{
		Targets:     userIDs(strings.Repeat("x", 61), 180), // 64-character ids
		PushMessage: PushMessage{Title: "t", Content: "c"},
	}
	parts, err := prepare(job, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 3 {
		t.Fatalf("got %d parts; 180 ids of 64 characters need at least 3 calls of 5 KB", len(parts))
	}
	var all []string
	for i, p := range parts {
		part := p.(*EasemobPushSingle)
		b, _ := json.Marshal(part)
		if len(b) > easemobMaxBody || len(part.Targets) > easemobMaxTargets {
			t.Errorf("part %d: %d targets, %d bytes", i, len(part.Targets), len(b))
		}
		// Greedy: a part that is not the last is full, one more target
		// would not fit.
		if i < len(parts)-1 {
			next := parts[i+1].(*EasemobPushSingle).Targets[0]
			bigger := *part
			bigger.Targets = append(slices.Clone(part.Targets), next)
			if b, _ := json.Marshal(&bigger); len(b) <= easemobMaxBody {
				t.Errorf("part %d has room for %q (%d bytes with it)", i, next, len(b))
			}
		}
		all = append(all, part.Targets...)
	}
	if !slices.Equal(all, job.Targets) {
		t.Fatal("parts do not hold the targets in their original order")
	}
}

func TestPrepareSplitsEnOSMessages(t *testing.T) {
	job := &EnOSNoticeProduce{OrgID: "o1", Messages: enosMessages(250)}
	parts, err := prepare(job, Env{})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	var all []EnOSMessage
	for _, p := range parts {
		part := p.(*EnOSNoticeProduce)
		if part.OrgID != "o1" {
			t.Errorf("part orgId = %q", part.OrgID)
		}
		sizes = append(sizes, len(part.Messages))
		all = append(all, part.Messages...)
	}
	if want := []int{100, 100, 50}; !slices.Equal(sizes, want) {
		t.Fatalf("part sizes = %v, want %v", sizes, want)
	}
	if !reflect.DeepEqual(all, job.Messages) {
		t.Fatal("parts do not hold the messages in their original order")
	}
}

// DingTalk takes 100 users a call. The departments ride with the first
// part only: a department member must not get the message once per part.
func TestPrepareSplitsDingTalkUsers(t *testing.T) {
	msg := DingTalkMsg{MsgType: "text", Text: json.RawMessage(`{"content":"hi"}`)}
	users := userIDs("u", 250)
	tests := []struct {
		name      string
		job       DingTalkSend
		wantSizes []int
		wantDepts []string
	}{
		{"users", DingTalkSend{UseridList: strings.Join(users, ","), Msg: msg}, []int{100, 100, 50}, []string{"", "", ""}},
		{"users and departments", DingTalkSend{UseridList: strings.Join(users, ","), DeptIDList: "1,42", Msg: msg},
			[]int{100, 100, 50}, []string{"1,42", "", ""}},
		{"exactly 100", DingTalkSend{UseridList: strings.Join(users[:100], ","), DeptIDList: "7", Msg: msg}, []int{100}, []string{"7"}},
		{"101", DingTalkSend{UseridList: strings.Join(users[:101], ","), Msg: msg}, []int{100, 1}, []string{"", ""}},
		{"departments only", DingTalkSend{DeptIDList: "1", Msg: msg}, []int{0}, []string{"1"}},
		{"everyone", DingTalkSend{ToAllUser: true, Msg: msg}, []int{0}, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := tt.job
			parts, err := prepare(&job, Env{})
			if err != nil {
				t.Fatal(err)
			}
			var (
				sizes []int
				depts []string
				all   []string
			)
			for _, p := range parts {
				part := p.(*DingTalkSend)
				ids := part.userIDs()
				sizes = append(sizes, len(ids))
				depts = append(depts, part.DeptIDList)
				all = append(all, ids...)
				if !reflect.DeepEqual(part.Msg, job.Msg) || part.ToAllUser != job.ToAllUser {
					t.Errorf("part does not share the job's msg: %+v", part)
				}
			}
			if !slices.Equal(sizes, tt.wantSizes) || !slices.Equal(depts, tt.wantDepts) {
				t.Errorf("parts: users %v, departments %q; want %v, %q", sizes, depts, tt.wantSizes, tt.wantDepts)
			}
			if !slices.Equal(all, job.userIDs()) {
				t.Error("parts do not hold the users in their original order")
			}
			if job.UseridList != tt.job.UseridList || job.DeptIDList != tt.job.DeptIDList {
				t.Error("prepare changed the caller's job")
			}
		})
	}
}

// Errors name the index in the caller's whole list, not in a part.
func TestPrepareErrorIndexesWholeList(t *testing.T) {
	msg := PushMessage{Title: "t", Content: "c"}
	emptyAt203 := userIDs("u", 250)
	emptyAt203[203] = ""
	dupAt150 := userIDs("u", 250)
	dupAt150[150] = dupAt150[7]
	enosDup := enosMessages(250)
	enosDup[230].MessageID = enosDup[12].MessageID
	enosHeader := enosMessages(250)
	enosHeader[120].Header = &I18n{I18nValue: map[string]string{"zh_CN": "告警"}}

	cases := []struct {
		name        string
		job         Job
		field, rule string
	}{
		{"easemob empty", &EasemobPushSingle{Targets: emptyAt203, PushMessage: msg}, "targets[203]", "empty user id"},
		{"easemob duplicate", &EasemobPushSingle{Targets: dupAt150, PushMessage: msg}, "targets[150]", "duplicate of targets[7]"},
		{"easemob message", &EasemobPushSingle{Targets: userIDs("u", 250)}, "pushMessage.title", "required"},
		{"easemob message too big for any call", &EasemobPushSingle{
			Targets:     userIDs("u", 250),
			PushMessage: PushMessage{Title: "t", Content: "c", Oppo: json.RawMessage(`{"x":"` + strings.Repeat("a", 5200) + `"}`)},
		}, "pushMessage", "5 KB"},
		{"dingtalk duplicate", &DingTalkSend{UseridList: strings.Join(dupAt150, ","),
			Msg: DingTalkMsg{MsgType: "text", Text: json.RawMessage(`{"content":"hi"}`)}}, "userid_list[150]", "duplicate of userid_list[7]"},
		{"dingtalk empty", &DingTalkSend{UseridList: strings.Join(emptyAt203, ","),
			Msg: DingTalkMsg{MsgType: "text", Text: json.RawMessage(`{"content":"hi"}`)}}, "userid_list[203]", "empty user id"},
		{"enos duplicate", &EnOSNoticeProduce{OrgID: "o1", Messages: enosDup}, "messages[230].messageId", "duplicate of messages[12]"},
		{"enos header", &EnOSNoticeProduce{OrgID: "o1", Messages: enosHeader}, "messages[120].header", "needs defaultValue or i18nValue.en_US"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parts, err := prepare(tc.job, Env{})
			if parts != nil {
				t.Errorf("prepare() returned %d parts with an error", len(parts))
			}
			wantField(t, err, tc.field, tc.rule)
		})
	}
}

// Enqueue takes an Easemob part's payload from its validation instead of
// encoding the part again, so what validation hands back must be exactly
// the part's JSON, and a job whose validation does not encode must hand
// back nothing (Enqueue then encodes it).
func TestPrepareEncodedPayloads(t *testing.T) {
	msg := PushMessage{Title: "Hi", Content: "Sale", Ext: map[string]any{"k": "v"}, APNs: json.RawMessage(`{"badge":1}`)}
	strategy := 1
	start := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	env := Env{Now: start}
	in2h := EasemobStartDate(start.Add(2*time.Hour), nil)
	cases := []struct {
		name    string
		job     Job
		parts   int
		encoded bool
	}{
		{"push.sync", &EasemobPushSync{Target: "u1", Strategy: &strategy, PushMessage: msg}, 1, true},
		{"push.async", &EasemobPushAsync{Target: "u1", PushMessage: msg}, 1, true},
		{"push.single", &EasemobPushSingle{Targets: userIDs("u", 3), PushMessage: msg}, 1, true},
		{"push.single split", &EasemobPushSingle{Targets: userIDs("u", 250), PushMessage: msg}, 3, true},
		{"push.label", &EasemobPushLabel{Targets: []string{"vip"}, StartDate: in2h, PushMessage: msg}, 1, true},
		{"push.task", &EasemobPushTask{PushMessage: msg}, 1, true},
		{"feishu", &FeishuExecuteSend{NotificationID: "1", SendAt: "1624326025000"}, 1, false},
		{"enos split", &EnOSNoticeProduce{OrgID: "o1", Messages: enosMessages(150)}, 2, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parts, payloads, err := prepareEncoded(tc.job, env)
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != tc.parts || len(payloads) != tc.parts {
				t.Fatalf("got %d parts and %d payloads, want %d", len(parts), len(payloads), tc.parts)
			}
			for i, part := range parts {
				if !tc.encoded {
					if payloads[i] != nil {
						t.Errorf("part %d: payload %s from a job whose validation does not encode it", i, payloads[i])
					}
					continue
				}
				want, err := json.Marshal(part)
				if err != nil {
					t.Fatal(err)
				}
				if string(payloads[i]) != string(want) {
					t.Errorf("part %d: payload %s, want json.Marshal's %s", i, payloads[i], want)
				}
			}
		})
	}
}

func TestPrepareValidatesOtherJobs(t *testing.T) {
	_, err := prepare(&FeishuExecuteSend{NotificationID: "1", SendAt: "1624326025"}, Env{})
	wantField(t, err, "send_at", "milliseconds")

	if _, err := prepare(nil, Env{}); err == nil {
		t.Fatal("prepare(nil) = nil error")
	}
}

func BenchmarkPrepareEasemob10k(b *testing.B) {
	job := &EasemobPushSingle{Targets: userIDs("user-", 10_000), PushMessage: PushMessage{Title: "t", Content: "c"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := prepare(job, Env{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrepareEnOS1k(b *testing.B) {
	job := &EnOSNoticeProduce{OrgID: "o1", Messages: enosMessages(1000)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := prepare(job, Env{}); err != nil {
			b.Fatal(err)
		}
	}
}
