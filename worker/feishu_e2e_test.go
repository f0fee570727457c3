package worker_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/providers/feishu"
	"github.com/herald-dispatch/herald/providers/feishu/feishusim"
	"github.com/herald-dispatch/herald/providers/simkit"
	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// feishuStack is a stack with a Feishu account on its own simulator.
func feishuStack(t *testing.T, opts feishusim.Options, tune func(*worker.FeishuAccount)) (*stack, *feishusim.Server) {
	t.Helper()
	fs := feishusim.New(opts)
	url, err := fs.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	s := newIdleStack(t, easemobsim.Options{}, func(c *worker.Config) {
		a := worker.FeishuAccount{
			BaseURL: url, AppID: feishusim.DefaultAppID, AppSecret: feishusim.DefaultAppSecret,
			HelpdeskID: feishusim.DefaultHelpdeskID, HelpdeskToken: feishusim.DefaultHelpdeskToken,
			RefreshToken: fs.IssueRefreshToken(), ReauthRetry: worker.Duration(300 * time.Millisecond),
		}
		if tune != nil {
			tune(&a)
		}
		c.Feishu = map[string]worker.FeishuAccount{"default": a}
	})
	return s, fs
}

// producer -> Redis -> worker -> simulator: Feishu holds exactly the
// notification id and send_at enqueued, sent with a valid user token and
// the helpdesk header, and the result keeps Feishu's request id.
func TestEndToEndFeishuExecuteSend(t *testing.T) {
	s, fs := feishuStack(t, feishusim.Options{}, nil)
	s.startWorker(t)
	sendAt := tasks.FeishuSendAt(time.Now().Add(time.Hour))
	r := s.enqueue(t, &tasks.FeishuExecuteSend{NotificationID: "6985032626234982420", SendAt: sendAt})
	st := s.waitState(t, "completed", r.IDs()...)
	got := fs.Received()
	if len(got) != 1 || got[0].NotificationID != "6985032626234982420" || got[0].SendAt != sendAt || got[0].Helpdesk != feishusim.DefaultHelpdeskID {
		t.Fatalf("simulator holds %+v", got)
	}
	var res feishu.Result
	if err := json.Unmarshal(st[0].Result, &res); err != nil || res.RequestID == "" || res.NotificationID != "6985032626234982420" {
		t.Errorf("result %s (%v)", st[0].Result, err)
	}
}

// A refresh token revoked at Feishu: the account's jobs wait (neither
// archived nor spending retries), herald_account_needs_reauth says so, a
// log line says what to do, and once a new refresh token is stored every
// waiting job is delivered once.
func TestFeishuRevokedRefreshTokenWaitsForOperator(t *testing.T) {
	s, fs := feishuStack(t, feishusim.Options{ExecuteSendPerMinute: -1}, func(a *worker.FeishuAccount) {
		a.Limits = map[string]worker.LimitConfig{"execute_send": {Jobs: []string{"execute_send"}, Rate: 100, Per: worker.Duration(time.Second), Burst: 10}}
	})
	w := s.startWorker(t)
	ctx := context.Background()
	first := s.enqueue(t, &tasks.FeishuExecuteSend{NotificationID: "1", SendAt: "1624326025000"})
	s.waitState(t, "completed", first.IDs()...)

	fs.RevokeRefreshTokens()
	// The user token is gone too (expired, or withdrawn with the app).
	if err := s.rdb.Del(ctx, "herald:token:{feishu:default:user}").Err(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, id := range []string{"2", "3", "4"} {
		ids = append(ids, s.enqueue(t, &tasks.FeishuExecuteSend{NotificationID: id, SendAt: "1624326025000"}).IDs()...)
	}
	metric := func() string {
		_, body := get(t, w.AdminHandler(), "/metrics")
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, `herald_account_needs_reauth{account="default",provider="feishu"}`) {
				return line[strings.LastIndexByte(line, ' ')+1:]
			}
		}
		return ""
	}
	awaitCond(t, 20*time.Second, "the account to need re-authorization", func() bool { return metric() == "1" })
	// Let every job come round at least twice while paused.
	awaitCond(t, 20*time.Second, "the jobs to retry while paused", func() bool {
		return strings.Count(s.logs.String(), `"result":"paused"`) >= 2*len(ids)
	})
	for _, id := range ids {
		st, err := s.producer.Status(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		// A task caught running counts the try it is in (Status.Attempts).
		spent := st.Attempts
		if st.State == "active" {
			spent--
		}
		if st.State == "archived" || st.State == "completed" || spent != 0 {
			t.Errorf("task %s while paused: state %s, %d attempts used (%s)", id, st.State, st.Attempts, st.LastError)
		}
	}
	if !strings.Contains(s.logs.String(), "needs re-authorization") || !strings.Contains(s.logs.String(), "worker feishu-auth default") {
		t.Error("no log line says the account needs re-authorization")
	}
	refused := len(fs.Redemptions())

	if err := feishu.StoreRefreshToken(ctx, s.rdb, "default", fs.IssueRefreshToken()); err != nil {
		t.Fatal(err)
	}
	s.waitState(t, "completed", ids...)
	if m := metric(); m != "0" {
		t.Errorf("needs_reauth = %q after the new token, want 0", m)
	}
	var got []string
	for _, r := range fs.Received() {
		got = append(got, r.NotificationID)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "1,2,3,4" {
		t.Errorf("simulator received %v, want each of 1-4 once", got)
	}
	if n := len(fs.Redemptions()) - refused; n != 1 {
		t.Errorf("%d refresh calls after the new token, want 1", n)
	}
}

// A 429 storm from Feishu: after each 99991400, no replica calls again
// before x-ogw-ratelimit-reset has passed.
func TestFeishuRateLimitStormHonouredByEveryReplica(t *testing.T) {
	const reset = time.Second
	s, fs := feishuStack(t, feishusim.Options{ExecuteSendPerMinute: -1}, func(a *worker.FeishuAccount) {
		// Herald's own spacing well below the cool-down, so any call
		// inside it would be the cool-down's failure.
		a.Limits = map[string]worker.LimitConfig{"execute_send": {Jobs: []string{"execute_send"}, Rate: 1, Per: worker.Duration(150 * time.Millisecond), Burst: 1}}
	})
	s.startWorker(t)
	s.startWorker(t) // a second replica on the same Redis
	fs.Inject(simkit.Fault{Kind: simkit.FaultStatus, Endpoint: feishusim.ExecuteSend, Count: 3, Status: http.StatusTooManyRequests,
		Header: http.Header{"X-Ogw-Ratelimit-Reset": {"1"}, "X-Ogw-Ratelimit-Limit": {"10"}}})
	var ids []string
	for _, id := range []string{"1", "2", "3", "4", "5"} {
		ids = append(ids, s.enqueue(t, &tasks.FeishuExecuteSend{NotificationID: id, SendAt: "1624326025000"}).IDs()...)
	}
	s.waitState(t, "completed", ids...)
	var calls []simkit.Call
	for _, c := range fs.Calls() {
		if c.Endpoint == feishusim.ExecuteSend {
			calls = append(calls, c)
		}
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].At.Before(calls[j].At) })
	storms := 0
	for i, c := range calls {
		if c.Status != http.StatusTooManyRequests {
			continue
		}
		storms++
		if i+1 < len(calls) {
			if gap := calls[i+1].At.Sub(c.At); gap < reset {
				t.Errorf("a call %v after a 429 asking for %v", gap, reset)
			}
		}
	}
	if storms != 3 || len(fs.Received()) != 5 {
		t.Errorf("%d 429s and %d delivered, want 3 and 5", storms, len(fs.Received()))
	}
}
