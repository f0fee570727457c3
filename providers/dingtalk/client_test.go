package dingtalk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/dingtalk"
	"github.com/herald-dispatch/herald/providers/dingtalk/dingtalksim"
	"github.com/herald-dispatch/herald/providers/simkit"
	"github.com/herald-dispatch/herald/providers/simkit/simtest"
	"github.com/herald-dispatch/herald/tasks"
)

// newClock is a settable clock for the simulator.
func newClock() *simkit.Clock { return simkit.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)) }

func start(t *testing.T, opts dingtalksim.Options) (*dingtalksim.Server, *dingtalk.Client) {
	t.Helper()
	sim := dingtalksim.New(opts)
	return sim, dingtalk.New(dingtalk.Config{
		BaseURL: simtest.Start(t, sim.Kit), AppKey: dingtalksim.DefaultAppKey, AppSecret: dingtalksim.DefaultAppSecret,
		AgentID: dingtalksim.DefaultAgentID,
	})
}

func text(content string) tasks.DingTalkMsg {
	return tasks.DingTalkMsg{MsgType: "text", Text: json.RawMessage(`{"content":"` + content + `"}`)}
}

// TestEveryErrcodeHasItsClass answers each documented errcode (HTTP 200,
// DingTalk's envelope) through the simulator and checks the client's class,
// code and suggested wait.
func TestEveryErrcodeHasItsClass(t *testing.T) {
	type tc struct {
		body      string
		status    int
		class     providers.Class
		code      string
		wait      time.Duration
		dropToken bool
	}
	env := func(code int) string {
		return fmt.Sprintf(`{"errcode":%d,"errmsg":"m","request_id":"r-%d"}`, code, code)
	}
	tests := map[string]tc{
		"-1 busy":            {env(-1), 200, providers.Transient, "-1", 0, false},
		"40014 bad token":    {env(40014), 200, providers.Unauthorized, "40014", 0, true},
		"42001 expired":      {env(42001), 200, providers.Unauthorized, "42001", 0, true},
		"40001 credential":   {env(40001), 200, providers.Unauthorized, "40001", 0, true},
		"90002 api throttle": {env(90002), 200, providers.RateLimited, "90002", time.Second, false},
		"90018 qps":          {env(90018), 200, providers.RateLimited, "90018", time.Second, false},
		"41047 minute cap":   {env(41047), 200, providers.RateLimited, "41047", time.Minute, false},
		"41048 minute cap":   {env(41048), 200, providers.RateLimited, "41048", time.Minute, false},
		"143103 recipients":  {env(143103), 200, providers.RateLimited, "143103", time.Minute, false},
		"143104 recipients":  {env(143104), 200, providers.RateLimited, "143104", time.Minute, false},
		"40089 app key":      {env(40089), 200, providers.Permanent, "40089", 0, false},
		"40035 parameter":    {env(40035), 200, providers.Permanent, "40035", 0, false},
		"40056 agent":        {env(40056), 200, providers.Permanent, "40056", 0, false},
		"60011 permission":   {env(60011), 200, providers.Permanent, "60011", 0, false},
		"60020 ip allowlist": {env(60020), 200, providers.Permanent, "60020", 0, false},
		"90020 monthly":      {env(90020), 200, providers.Permanent, "90020", 0, false},
		"143105 daily cap":   {env(143105), 200, providers.Permanent, "143105", 0, false},
		"143106 duplicate":   {env(143106), 200, providers.Permanent, "143106", 0, false},
		"1430000 nobody":     {env(1430000), 200, providers.Permanent, "1430000", 0, false},
		"1430002 prohibited": {env(1430002), 200, providers.Permanent, "1430002", 0, false},
		"88 with token sub_code": {`{"errcode":88,"errmsg":"m","sub_code":"42001","sub_msg":"expired"}`, 200,
			providers.Unauthorized, "88/42001", 0, true},
		"88 with qps sub_code": {`{"errcode":88,"errmsg":"m","sub_code":"90018","sub_msg":"qps"}`, 200,
			providers.RateLimited, "88/90018", time.Second, false},
		"88 with unknown sub_code": {`{"errcode":88,"errmsg":"m","sub_code":"invalidAuth","sub_msg":"x"}`, 200,
			providers.Permanent, "88/invalidAuth", 0, false},
		"unknown errcode on 200": {env(123456), 200, providers.Permanent, "123456", 0, false},
		"HTTP 502 gateway":       {`<html>bad gateway</html>`, 502, providers.Transient, "502", 0, false},
		"HTTP 404":               {`not found`, 404, providers.Permanent, "404", 0, false},
		"HTTP 429":               {`{}`, 429, providers.RateLimited, "429", time.Second, false},
		"HTTP 503 with -1":       {env(-1), 503, providers.Transient, "-1", 0, false},
	}
	for i := 90001; i <= 90014; i++ {
		if i == 90002 {
			continue
		}
		tests[fmt.Sprintf("%d ban", i)] = tc{env(i), 200, providers.RateLimited, fmt.Sprint(i), dingtalk.BanRetryAfter, false}
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			sim, c := start(t, dingtalksim.Options{})
			sim.Inject(simkit.Fault{Kind: simkit.FaultStatus, Endpoint: dingtalksim.Send, Count: 1, Status: tt.status, Body: tt.body})
			_, err := c.Send(context.Background(), &tasks.DingTalkSend{UseridList: "u1", Msg: text("hi")})
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *providers.Error", err)
			}
			if pe.Class != tt.class || pe.Code != tt.code || pe.RetryAfter != tt.wait || pe.Status != tt.status {
				t.Fatalf("got class %s code %q wait %s status %d, want %s %q %s %d (%v)",
					pe.Class, pe.Code, pe.RetryAfter, pe.Status, tt.class, tt.code, tt.wait, tt.status, err)
			}
			// A token error drops the token: the next call fetches one.
			before := sim.CallsTo(dingtalksim.GetToken)
			if _, err := c.Send(context.Background(), &tasks.DingTalkSend{UseridList: "u1", Msg: text("again")}); err != nil {
				t.Fatalf("second call: %v", err)
			}
			if fetched := sim.CallsTo(dingtalksim.GetToken) > before; fetched != tt.dropToken {
				t.Fatalf("gettoken after the error: %v, want %v", fetched, tt.dropToken)
			}
		})
	}
}

// TestRequestIDKept: the envelope's request_id is in the error.
func TestRequestIDKept(t *testing.T) {
	sim, c := start(t, dingtalksim.Options{})
	sim.Inject(simkit.Fault{Kind: simkit.FaultStatus, Endpoint: dingtalksim.Recall, Count: 1, Status: 200,
		Body: `{"errcode":40035,"errmsg":"bad","request_id":"abc123"}`})
	_, err := c.Send(context.Background(), &tasks.DingTalkRecall{MsgTaskID: 1})
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.RequestID != "abc123" || !strings.Contains(err.Error(), "abc123") {
		t.Fatalf("err = %v", err)
	}
}

// TestSendOneCallEach: each job is one HTTP call (after one gettoken), and
// the simulator got exactly what DingTalk documents.
func TestSendOneCallEach(t *testing.T) {
	clk := newClock()
	sim, c := start(t, dingtalksim.Options{Now: clk.Now, UnknownUsers: []string{"ghost"}})
	ctx := context.Background()
	res, err := c.Send(ctx, &tasks.DingTalkSend{UseridList: "u1,ghost", DeptIDList: "7", Msg: text("hello")})
	if err != nil {
		t.Fatal(err)
	}
	id := res.(*dingtalk.SendResult).TaskID
	p, err := c.Send(ctx, &tasks.DingTalkProgress{TaskID: id})
	if err != nil || p.(*dingtalk.Progress).Done() {
		t.Fatalf("progress %+v %v, want not done yet", p, err)
	}
	clk.Advance(2 * time.Second)
	p, err = c.Send(ctx, &tasks.DingTalkProgress{TaskID: id})
	if err != nil || !p.(*dingtalk.Progress).Done() || p.(*dingtalk.Progress).Percent != 100 {
		t.Fatalf("progress %+v %v, want done", p, err)
	}
	r, err := c.Send(ctx, &tasks.DingTalkResult{TaskID: id})
	if err != nil {
		t.Fatal(err)
	}
	sr := r.(*dingtalk.Result).SendResult
	if fmt.Sprint(sr.InvalidUserIDList, sr.UnreadUserIDList) != "[ghost] [u1]" {
		t.Fatalf("result %+v", sr)
	}
	if _, err := c.Send(ctx, &tasks.DingTalkStatusBar{TaskID: id, StatusValue: "Accepted", StatusBg: "0xFF78C06E"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, &tasks.DingTalkRecall{MsgTaskID: id}); err != nil {
		t.Fatal(err)
	}
	if n := sim.CallsTo(dingtalksim.GetToken); n != 1 {
		t.Fatalf("gettoken called %d times, want 1", n)
	}
	var got []string
	for _, r := range sim.Received() {
		got = append(got, fmt.Sprintf("%s %d %d", r.Endpoint, r.TaskID, r.AgentID))
	}
	want := []string{}
	for _, ep := range []string{"send", "progress", "progress", "result", "status_bar", "recall"} {
		want = append(want, fmt.Sprintf("%s %d %d", ep, id, dingtalksim.DefaultAgentID))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("received %v, want %v", got, want)
	}
	send := sim.Sends()[0]
	if fmt.Sprintf("%v %v %s", send.UserIDs, send.DeptIDs, send.MsgType) != "[u1 ghost] [7] text" {
		t.Fatalf("send record %+v", send)
	}
	bar := sim.Received()[4]
	if bar.StatusValue != "Accepted" || bar.StatusBg != "0xFF78C06E" {
		t.Fatalf("status bar record %+v", bar)
	}
}

// TestSimulatorRejects: what the simulator refuses, through the client.
func TestSimulatorRejects(t *testing.T) {
	clk := newClock()
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprint("u", i)
	}
	tests := []struct {
		name string
		opts dingtalksim.Options
		cfg  func(*dingtalk.Config)
		job  tasks.Job
		code string
	}{
		{"wrong secret", dingtalksim.Options{}, func(c *dingtalk.Config) { c.AppSecret = "nope" },
			&tasks.DingTalkSend{UseridList: "u1", Msg: text("x")}, "40089"},
		{"wrong agent", dingtalksim.Options{}, func(c *dingtalk.Config) { c.AgentID = 7 },
			&tasks.DingTalkSend{UseridList: "u1", Msg: text("x")}, "40056"},
		{"101 users", dingtalksim.Options{}, nil, &tasks.DingTalkSend{UseridList: strings.Join(many, ","), Msg: text("x")}, "40035"},
		{"msg over 2048 bytes", dingtalksim.Options{}, nil, &tasks.DingTalkSend{UseridList: "u1", Msg: text(strings.Repeat("x", 2100))}, "40035"},
		{"text without content", dingtalksim.Options{}, nil,
			&tasks.DingTalkSend{UseridList: "u1", Msg: tasks.DingTalkMsg{MsgType: "text", Text: json.RawMessage(`{}`)}}, "40035"},
		{"no recipients", dingtalksim.Options{}, nil, &tasks.DingTalkSend{Msg: text("x")}, "1430000"},
		{"prohibited", dingtalksim.Options{Prohibited: []string{"casino"}}, nil,
			&tasks.DingTalkSend{UseridList: "u1", Msg: text("casino")}, "1430002"},
		{"unknown task", dingtalksim.Options{}, nil, &tasks.DingTalkRecall{MsgTaskID: 42}, "40035"},
		{"QPS", dingtalksim.Options{Now: clk.Now, QPS: 1}, nil, &tasks.DingTalkProgress{TaskID: 1}, "90018"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := dingtalksim.New(tt.opts)
			cfg := dingtalk.Config{BaseURL: simtest.Start(t, sim.Kit), AppKey: dingtalksim.DefaultAppKey, AppSecret: dingtalksim.DefaultAppSecret, AgentID: dingtalksim.DefaultAgentID}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			c := dingtalk.New(cfg)
			if tt.code == "90018" {
				_, _ = c.Send(context.Background(), tt.job) // uses up the second
			}
			_, err := c.Send(context.Background(), tt.job)
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Code != tt.code || pe.Status != http.StatusOK {
				t.Fatalf("err = %v, want errcode %s with HTTP 200", err, tt.code)
			}
		})
	}
}

// TestDailyCapAndDuplicate: the result lists apply DingTalk's quotas.
func TestDailyCapAndDuplicate(t *testing.T) {
	sim, c := start(t, dingtalksim.Options{DailyCap: 2, TaskDuration: time.Nanosecond, UnknownUsers: []string{"ghost"}})
	_ = sim
	ctx := context.Background()
	send := func(users, content string) tasks.DingTalkSendResult {
		t.Helper()
		res, err := c.Send(ctx, &tasks.DingTalkSend{UseridList: users, Msg: text(content)})
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Send(ctx, &tasks.DingTalkResult{TaskID: res.(*dingtalk.SendResult).TaskID})
		if err != nil {
			t.Fatal(err)
		}
		return r.(*dingtalk.Result).SendResult
	}
	send("capped", "one")
	send("capped,repeat", "two")
	got := send("capped,repeat,ghost,fresh", "two")
	// capped: third message today (cap 2) -> 143105 wins over nothing;
	// repeat: same content again -> 143106.
	if fmt.Sprint(got.InvalidUserIDList, got.ForbiddenUserIDList, got.UnreadUserIDList) != "[ghost] [capped repeat] [fresh]" {
		t.Fatalf("lists %+v", got)
	}
	want := []tasks.DingTalkForbidden{{Code: "143106", Count: 1, UserID: "capped"}, {Code: "143106", Count: 1, UserID: "repeat"}}
	if fmt.Sprint(got.ForbiddenList) != fmt.Sprint(want) {
		t.Fatalf("forbidden %+v, want %+v", got.ForbiddenList, want)
	}
	got = send("capped", "three")
	if fmt.Sprint(got.ForbiddenList) != fmt.Sprint([]tasks.DingTalkForbidden{{Code: "143105", Count: 2, UserID: "capped"}}) {
		t.Fatalf("forbidden %+v", got.ForbiddenList)
	}
}

// TestSecretsNeverInErrors: a transport failure does not quote the URL,
// which carries the access_token or the app secret.
func TestSecretsNeverInErrors(t *testing.T) {
	c := dingtalk.New(dingtalk.Config{BaseURL: "http://127.0.0.1:1", AppKey: "k", AppSecret: "very-secret", AgentID: 1})
	_, err := c.Send(context.Background(), &tasks.DingTalkSend{UseridList: "u1", Msg: text("x")})
	if err == nil || strings.Contains(err.Error(), "very-secret") || providers.ClassOf(err) != providers.Transient {
		t.Fatalf("err = %v", err)
	}
}
