package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/dingtalk/dingtalksim"
	"github.com/herald-dispatch/herald/providers/simkit"
	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// dtStack is a whole Herald on one test's Redis with a DingTalk simulator:
// producer -> Redis -> worker -> simulator, all over real TCP.
type dtStack struct {
	*stack
	dt *dingtalksim.Server
}

// dingTalkConfig is a worker config with one DingTalk account on url,
// tracking paced for tests.
func dingTalkConfig(url string) worker.Config {
	cfg := worker.Defaults()
	cfg.Admin.Addr = "-"
	cfg.PollInterval = worker.Duration(100 * time.Millisecond)
	cfg.Concurrency = 8
	cfg.Retry.Initial = worker.Duration(100 * time.Millisecond)
	cfg.Retry.Max = worker.Duration(300 * time.Millisecond)
	cfg.Redis.URL = srv.URL()
	cfg.DingTalk = map[string]worker.DingTalkAccount{"default": {
		BaseURL: url, AppKey: dingtalksim.DefaultAppKey, AppSecret: dingtalksim.DefaultAppSecret,
		AgentID:  dingtalksim.DefaultAgentID,
		Tracking: worker.DingTalkTracking{Initial: worker.Duration(100 * time.Millisecond), Max: worker.Duration(300 * time.Millisecond)},
	}}
	return cfg
}

func newDingTalkStack(t *testing.T, opts dingtalksim.Options, workers int, tune ...func(*worker.Config)) *dtStack {
	t.Helper()
	sim := dingtalksim.New(opts)
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	rdb := srv.Client(t)
	cfg := dingTalkConfig(url)
	for _, f := range tune {
		f(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := &dtStack{stack: &stack{rdb: rdb, producer: tasks.NewProducer(rdb), cfg: cfg, logs: &syncBuffer{}}, dt: sim}
	for range workers {
		s.startWorker(t)
	}
	return s
}

func dtText(content string) tasks.DingTalkMsg {
	return tasks.DingTalkMsg{MsgType: "text", Text: json.RawMessage(`{"content":` + strconv.Quote(content) + `}`)}
}

// waitTracking polls the send's Status until its tracking reaches state.
func waitTracking(t *testing.T, p *tasks.Producer, id, state string, logs fmt.Stringer) *tasks.Status {
	t.Helper()
	// Generous: a check running when a worker was killed is handed back by
	// asynq only once its lease expires (about a minute).
	deadline := time.Now().Add(90 * time.Second)
	for {
		st, err := p.Status(context.Background(), id)
		if err != nil {
			t.Fatalf("status %s: %v", id, err)
		}
		if st.Tracking != nil && st.Tracking.State == state {
			return st
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(st)
			t.Fatalf("send %s: tracking not %s in time: %s\nlogs:\n%s", id, state, b, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// All five job types, end to end: a send tracked to its result, progress
// and result jobs by task id, the status bar and a recall by send job id.
// The simulator received exactly these calls. So it goes with the jobs
// spread over shards, and when the producer spread them over more shards
// than the worker's config names (the worker finds the send job in a shard
// it was not told of).
func TestEndToEndDingTalkEveryJob(t *testing.T) {
	for _, tc := range []struct{ worker, producer int }{{1, 1}, {8, 8}, {1, 8}} {
		t.Run(fmt.Sprintf("worker %d shards, producer %d", tc.worker, tc.producer), func(t *testing.T) {
			testDingTalkEveryJob(t, tc.worker, tc.producer)
		})
	}
}

func testDingTalkEveryJob(t *testing.T, workerShards, producerShards int) {
	s := newDingTalkStack(t, dingtalksim.Options{ReadUsers: []string{"u1"}, TaskDuration: 300 * time.Millisecond}, 0,
		func(c *worker.Config) { c.Shards = workerShards })
	s.producer = tasks.NewProducer(s.rdb, tasks.WithShards(producerShards))
	s.startWorker(t)
	send := s.enqueue(t, &tasks.DingTalkSend{UseridList: "u1,u2", Msg: dtText("Your leave request was approved")}).IDs()[0]
	st := waitTracking(t, s.producer, send, tasks.TrackingDone, s.logs)
	sends := s.dt.Sends()
	if len(sends) != 1 {
		t.Fatalf("sends received: %d, want 1", len(sends))
	}
	taskID := sends[0].TaskID
	tr := st.Tracking
	if tr.TaskID != taskID || tr.Progress != 100 || tr.ProgressStatus != 2 || tr.Result == nil ||
		fmt.Sprint(tr.Result.ReadUserIDList, tr.Result.UnreadUserIDList) != "[u1] [u2]" {
		t.Fatalf("tracking %+v result %+v", tr, tr.Result)
	}
	if st.State != "completed" || !strings.Contains(string(st.Result), strconv.FormatInt(taskID, 10)) {
		t.Fatalf("send status %s result %s", st.State, st.Result)
	}
	if got := fmt.Sprintf("%v %s %s", sends[0].UserIDs, sends[0].MsgType, sends[0].Msg); got != `[u1 u2] text {"msgtype":"text","text":{"content":"Your leave request was approved"}}` {
		t.Fatalf("send received: %s", got)
	}

	before := len(s.dt.Received()) // from here: exactly the four jobs' calls
	ids := []string{
		s.enqueue(t, &tasks.DingTalkProgress{TaskID: taskID}).IDs()[0],
		s.enqueue(t, &tasks.DingTalkResult{TaskID: taskID}).IDs()[0],
		s.enqueue(t, &tasks.DingTalkStatusBar{SendJob: send, StatusValue: "Approved", StatusBg: "0xFF78C06E"}).IDs()[0],
	}
	s.waitState(t, "completed", ids...)
	recall := s.enqueue(t, &tasks.DingTalkRecall{SendJob: send}).IDs()[0]
	s.waitState(t, "completed", recall)

	var got []string
	for _, r := range s.dt.Received()[before:] {
		got = append(got, fmt.Sprintf("%s task=%d agent=%d bar=%q/%q", r.Endpoint, r.TaskID, r.AgentID, r.StatusValue, r.StatusBg))
	}
	want := []string{
		fmt.Sprintf("progress task=%d agent=%d bar=\"\"/\"\"", taskID, dingtalksim.DefaultAgentID),
		fmt.Sprintf("result task=%d agent=%d bar=\"\"/\"\"", taskID, dingtalksim.DefaultAgentID),
		fmt.Sprintf("status_bar task=%d agent=%d bar=\"Approved\"/\"0xFF78C06E\"", taskID, dingtalksim.DefaultAgentID),
		fmt.Sprintf("recall task=%d agent=%d bar=\"\"/\"\"", taskID, dingtalksim.DefaultAgentID),
	}
	// The first three run concurrently: compare as sets, then the recall last.
	if len(got) != 4 || !sameSet(got[:3], want[:3]) || got[3] != want[3] {
		t.Fatalf("received:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The status bar went out with DingTalk's fields only: no send_job.
	for _, r := range s.dt.Received() {
		if strings.Contains(string(r.Body), "send_job") {
			t.Fatalf("Herald's send_job reached DingTalk: %s", r.Body)
		}
	}
	res, _ := s.producer.Status(context.Background(), ids[1])
	if !strings.Contains(string(res.Result), `"unread_user_id_list":["u2"]`) {
		t.Fatalf("result job's result: %s", res.Result)
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return len(a) == len(b)
}

// A send to a user over the daily cap, a user who already got the same
// content today and an unknown user: Status shows the simulator's task id,
// progress 100, and exactly those users in the forbidden (with codes) and
// invalid lists.
func TestEndToEndDingTalkForbiddenAndInvalid(t *testing.T) {
	s := newDingTalkStack(t, dingtalksim.Options{DailyCap: 2, UnknownUsers: []string{"ghost"}, TaskDuration: 200 * time.Millisecond}, 1)
	for _, j := range []*tasks.DingTalkSend{
		{UseridList: "repeat", Msg: dtText("Quarterly results are out")},
		{UseridList: "capped", Msg: dtText("first of the day")},
		{UseridList: "capped", Msg: dtText("second of the day")},
	} {
		s.waitState(t, "completed", s.enqueue(t, j).IDs()...)
	}
	id := s.enqueue(t, &tasks.DingTalkSend{UseridList: "capped,repeat,ghost,fresh", Msg: dtText("Quarterly results are out")}).IDs()[0]
	st := waitTracking(t, s.producer, id, tasks.TrackingDone, s.logs)
	sends := s.dt.Sends()
	tr, r := st.Tracking, st.Tracking.Result
	if tr.TaskID != sends[len(sends)-1].TaskID || tr.Progress != 100 {
		t.Fatalf("tracking task %d progress %d, want task %d progress 100", tr.TaskID, tr.Progress, sends[len(sends)-1].TaskID)
	}
	checks := []struct{ name, got, want string }{
		{"forbidden", fmt.Sprint(r.ForbiddenUserIDList), "[capped repeat]"},
		{"forbidden_list", fmt.Sprint(r.ForbiddenList), "[{143105 2 capped} {143106 1 repeat}]"},
		{"invalid", fmt.Sprint(r.InvalidUserIDList), "[ghost]"},
		{"unread", fmt.Sprint(r.UnreadUserIDList), "[fresh]"},
		{"failed", fmt.Sprint(r.FailedUserIDList), "[]"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %s, want %s", c.name, c.got, c.want)
		}
	}
}

// A status bar naming a send still on its way waits for its task id; one
// naming a failed send is archived with the reason; a tracking check that
// DingTalk refuses for good ends as gave_up with the reason in Status.
func TestEndToEndDingTalkSendJobReferences(t *testing.T) {
	s := newDingTalkStack(t, dingtalksim.Options{TaskDuration: 100 * time.Millisecond}, 1)
	later := s.enqueue(t, &tasks.DingTalkSend{UseridList: "u1", Msg: dtText("later")}, tasks.DeliverIn(time.Second)).IDs()[0]
	bar := s.enqueue(t, &tasks.DingTalkStatusBar{SendJob: later, StatusValue: "Done"}).IDs()[0]
	s.waitState(t, "completed", later, bar)
	var bars []int64
	for _, r := range s.dt.Received() {
		if r.Endpoint == dingtalksim.StatusBar {
			bars = append(bars, r.TaskID)
		}
	}
	if fmt.Sprint(bars) != fmt.Sprint([]int64{s.dt.Sends()[0].TaskID}) {
		t.Fatalf("status bar calls for tasks %v, want one for the send's task %d", bars, s.dt.Sends()[0].TaskID)
	}

	s.dt.Inject(simkit.Fault{Kind: simkit.FaultStatus, Endpoint: dingtalksim.Send, Count: 1, Status: 200,
		Body: `{"errcode":1430002,"errmsg":"prohibited content"}`})
	bad := s.enqueue(t, &tasks.DingTalkSend{UseridList: "u1", Msg: dtText("bad")}).IDs()[0]
	s.waitState(t, "archived", bad)
	recall := s.enqueue(t, &tasks.DingTalkRecall{SendJob: bad}).IDs()[0]
	st := s.waitState(t, "archived", recall)[0]
	if !strings.Contains(st.LastError, "failed (archived") || !strings.Contains(st.LastError, bad) {
		t.Fatalf("recall archived with %q", st.LastError)
	}

	// The earlier send's tracking must be over, or its next progress check
	// could take the fault meant for this one.
	waitTracking(t, s.producer, later, tasks.TrackingDone, s.logs)
	s.dt.Inject(simkit.Fault{Kind: simkit.FaultStatus, Endpoint: dingtalksim.Progress, Count: 1, Status: 200,
		Body: `{"errcode":60011,"errmsg":"no permission"}`})
	gone := s.enqueue(t, &tasks.DingTalkSend{UseridList: "u2", Msg: dtText("gone")}).IDs()[0]
	st = waitTracking(t, s.producer, gone, tasks.TrackingGaveUp, s.logs)
	if !strings.Contains(st.Tracking.Reason, "60011") || st.State != "completed" {
		t.Fatalf("gave up with %+v", st.Tracking)
	}
}

// DingTalk answers −1 (system busy): retried, but at most 3 tries in all.
func TestEndToEndDingTalkBusyAtMostThreeTries(t *testing.T) {
	s := newDingTalkStack(t, dingtalksim.Options{}, 1)
	s.dt.Inject(simkit.Fault{Kind: simkit.FaultStatus, Endpoint: dingtalksim.StatusBar, Status: 200, Body: `{"errcode":-1,"errmsg":"busy"}`})
	send := s.enqueue(t, &tasks.DingTalkSend{UseridList: "u1", Msg: dtText("x")}).IDs()[0]
	s.waitState(t, "completed", send)
	bar := s.enqueue(t, &tasks.DingTalkStatusBar{SendJob: send, StatusValue: "v"}).IDs()[0]
	st := s.waitState(t, "archived", bar)[0]
	if n := countCalls(s.dt, dingtalksim.StatusBar); n != 3 || !strings.Contains(st.LastError, "3 tries") {
		t.Fatalf("status bar calls %d, archived with %q; want 3 and the reason", n, st.LastError)
	}
}

func countCalls(sim *dingtalksim.Server, ep dingtalksim.Endpoint) int { return sim.CallsTo(ep) }

// shiftedClock is a clock a test can move ahead.
type shiftedClock struct {
	mu    sync.Mutex
	shift time.Duration
}

func (c *shiftedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.shift)
}

func (c *shiftedClock) Add(d time.Duration) { c.mu.Lock(); c.shift += d; c.mu.Unlock() }

// Eight workers share one app. Its token expires on DingTalk's side during
// the test (the simulator's clock jumps past the 7200 s while Herald still
// holds the token): every worker's next call is refused with 42001, and
// gettoken is called once for the first token and once after the expiry.
func TestEndToEndDingTalkTokenOncePerExpiry(t *testing.T) {
	clk := &shiftedClock{}
	s := newDingTalkStack(t, dingtalksim.Options{Now: clk.Now, TaskDuration: 200 * time.Millisecond}, 8)
	round := func(prefix string) {
		var ids []string
		for i := range 16 {
			ids = append(ids, s.enqueue(t, &tasks.DingTalkSend{UseridList: fmt.Sprintf("%s%02d", prefix, i), Msg: dtText(prefix)}).IDs()...)
		}
		for _, id := range ids {
			waitTracking(t, s.producer, id, tasks.TrackingDone, s.logs)
		}
	}
	round("a")
	if n := s.dt.CallsTo(dingtalksim.GetToken); n != 1 {
		t.Fatalf("gettoken called %d times before the expiry, want 1", n)
	}
	clk.Add(7201 * time.Second)
	round("b")
	if n := s.dt.CallsTo(dingtalksim.GetToken); n != 2 {
		t.Fatalf("gettoken called %d times, want 2 (once per expiry)", n)
	}
	expired := 0
	for _, c := range s.dt.Calls() {
		if c.Error == "42001" {
			expired++
		}
	}
	if expired == 0 {
		t.Fatal("no call saw the expired token: the test proved nothing")
	}
	if n := len(s.dt.Sends()); n != 32 {
		t.Fatalf("sends received %d, want 32", n)
	}
}

// A worker killed with SIGKILL while a send is being tracked: a worker
// started afterwards finishes the tracking, Status shows the result, and
// the simulator got one send only.
func TestEndToEndDingTalkTrackingSurvivesSIGKILL(t *testing.T) {
	bin := buildWorker(t)
	sim := dingtalksim.New(dingtalksim.Options{TaskDuration: 4 * time.Second})
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	env := append(os.Environ(),
		"HERALD_REDIS_URL="+srv.URL(),
		"HERALD_ADMIN_ADDR=-",
		"HERALD_POLL_INTERVAL=100ms",
		"HERALD_DINGTALK_DEFAULT_BASE_URL="+url,
		"HERALD_DINGTALK_DEFAULT_APP_KEY="+dingtalksim.DefaultAppKey,
		"HERALD_DINGTALK_DEFAULT_APP_SECRET="+dingtalksim.DefaultAppSecret,
		"HERALD_DINGTALK_DEFAULT_AGENT_ID="+strconv.Itoa(dingtalksim.DefaultAgentID),
		"HERALD_DINGTALK_DEFAULT_TRACKING_INITIAL=500ms",
		"HERALD_DINGTALK_DEFAULT_TRACKING_MAX=500ms",
	)
	run := func() (*exec.Cmd, *syncBuffer) {
		logs := &syncBuffer{}
		cmd := exec.Command(bin)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, logs
	}
	first, logs1 := run()
	producer := tasks.NewProducer(srv.Client(t))
	id, err := producer.Enqueue(context.Background(), &tasks.DingTalkSend{UseridList: "u1,u2", Msg: dtText("survives")})
	if err != nil {
		t.Fatal(err)
	}
	send := id.IDs()[0]
	// Wait until the send is done and at least one check has run.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := producer.Status(context.Background(), send)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == "completed" && st.Tracking != nil && st.Tracking.Checks >= 1 && st.Tracking.State == tasks.TrackingActive {
			break
		}
		if time.Now().After(deadline) {
			_ = first.Process.Kill()
			t.Fatalf("send not being tracked in time: %+v\n%s", st, logs1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	mid, _ := producer.Status(context.Background(), send)
	if mid.Tracking.State != tasks.TrackingActive {
		t.Fatalf("tracking finished before the kill: %+v", mid.Tracking)
	}

	second, logs2 := run()
	defer func() {
		_ = second.Process.Signal(syscall.SIGTERM)
		_ = second.Wait()
	}()
	st := waitTracking(t, producer, send, tasks.TrackingDone, logs2)
	if st.Tracking.Progress != 100 || fmt.Sprint(st.Tracking.Result.UnreadUserIDList) != "[u1 u2]" {
		t.Fatalf("tracking after restart: %+v", st.Tracking)
	}
	if n := sim.CallsTo(dingtalksim.Send); n != 1 {
		t.Fatalf("asyncsend_v2 called %d times, want 1", n)
	}
	if st.Tracking.Checks <= mid.Tracking.Checks {
		t.Fatalf("checks %d after restart, %d before: the second worker did not track", st.Tracking.Checks, mid.Tracking.Checks)
	}
}

// A send DingTalk has not finished within the tracking window: tracking
// gives up and Status says why (the window is 24 h; shortened here).
func TestEndToEndDingTalkTrackingGivesUpAfterWindow(t *testing.T) {
	s := newDingTalkStack(t, dingtalksim.Options{TaskDuration: time.Hour}, 1, func(c *worker.Config) {
		a := c.DingTalk["default"]
		a.Tracking.Window = worker.Duration(time.Second)
		c.DingTalk["default"] = a
	})
	id := s.enqueue(t, &tasks.DingTalkSend{UseridList: "u1", Msg: dtText("slow")}).IDs()[0]
	st := waitTracking(t, s.producer, id, tasks.TrackingGaveUp, s.logs)
	if !strings.Contains(st.Tracking.Reason, "not done") || st.Tracking.Checks < 1 || st.Tracking.Progress >= 100 {
		t.Fatalf("tracking %+v", st.Tracking)
	}
	if n := s.dt.CallsTo(dingtalksim.Result); n != 0 {
		t.Fatalf("getsendresult called %d times for an unfinished send", n)
	}
}

// A send to 150 users is split by the producer into two calls of ≤100;
// each is its own DingTalk task, tracked on its own part's Status.
func TestEndToEndDingTalkSplitSendTrackedPerPart(t *testing.T) {
	s := newDingTalkStack(t, dingtalksim.Options{TaskDuration: 200 * time.Millisecond}, 1)
	users := make([]string, 150)
	for i := range users {
		users[i] = fmt.Sprintf("user%03d", i)
	}
	r := s.enqueue(t, &tasks.DingTalkSend{UseridList: strings.Join(users, ","), Msg: dtText("all hands")}, tasks.IdempotencyKey("town-hall"))
	if fmt.Sprint(r.IDs()) != "[town-hall town-hall/2]" {
		t.Fatalf("receipt ids %v", r.IDs())
	}
	for i, id := range r.IDs() {
		st := waitTracking(t, s.producer, id, tasks.TrackingDone, s.logs)
		want := users[i*100 : min(len(users), (i+1)*100)]
		if got := st.Tracking.Result.UnreadUserIDList; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("part %d unread %d users, want %d", i+1, len(got), len(want))
		}
		byTask := map[int64][]string{}
		for _, rec := range s.dt.Sends() {
			byTask[rec.TaskID] = rec.UserIDs
		}
		if fmt.Sprint(byTask[st.Tracking.TaskID]) != fmt.Sprint(want) {
			t.Errorf("part %d: DingTalk task %d got %d users, want the part's %d", i+1, st.Tracking.TaskID, len(byTask[st.Tracking.TaskID]), len(want))
		}
	}
	if n := len(s.dt.Sends()); n != 2 {
		t.Fatalf("sends received %d, want 2", n)
	}
}
