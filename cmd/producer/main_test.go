package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/internal/redistest"
	"github.com/herald-dispatch/herald/tasks"
)

var srv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &srv) }

// result is one run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command with HERALD_REDIS_URL set to url ("" for unset).
func runCLI(t *testing.T, url, stdin string, args ...string) result {
	t.Helper()
	return runCLIEnv(t, map[string]string{envRedisURL: url}, stdin, args...)
}

// runCLIEnv runs the command with exactly the environment env.
func runCLIEnv(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
	return result{code, out.String(), errOut.String()}
}

const payload = `{"targets":["alice","bob"],"pushMessage":{"title":"Parcel","content":"Your parcel has shipped"}}`

func decodeReceipt(t *testing.T, r result) tasks.Receipt {
	t.Helper()
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var rc tasks.Receipt
	if err := json.Unmarshal([]byte(r.stdout), &rc); err != nil {
		t.Fatalf("stdout is not a receipt: %v\n%s", err, r.stdout)
	}
	return rc
}

func TestEnqueue(t *testing.T) {
	file := filepath.Join(t.TempDir(), "job.json")
	if err := os.WriteFile(file, []byte(payload), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
	}{
		{"stdin", payload, []string{"enqueue", tasks.TypeEasemobPushSingle, "--key", "k1"}},
		{"stdin dash", payload, []string{"enqueue", "-f", "-", "--key", "k1", tasks.TypeEasemobPushSingle}},
		{"file", "", []string{"enqueue", "-f", file, tasks.TypeEasemobPushSingle, "--key=k1"}},
		{"after --", payload, []string{"enqueue", "--key", "k1", "--", tasks.TypeEasemobPushSingle}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := srv.Client(t)
			rc := decodeReceipt(t, runCLI(t, srv.URL(), tt.stdin, tt.args...))
			if len(rc.Tasks) != 1 || rc.Tasks[0].ID != "k1" || rc.Tasks[0].Queue != "easemob" || rc.Tasks[0].Duplicate {
				t.Fatalf("receipt = %+v", rc)
			}
			info, err := asynq.NewInspectorFromRedisClient(rdb).GetTaskInfo("easemob", "k1")
			if err != nil {
				t.Fatalf("task not in Redis: %v", err)
			}
			job, err := tasks.Parse(info.Type, info.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if got := job.(*tasks.EasemobPushSingle).Targets; strings.Join(got, ",") != "alice,bob" {
				t.Errorf("targets in Redis = %v", got)
			}
			// The default account goes without a header.
			if a, ok := info.Headers[tasks.HeaderAccount]; ok {
				t.Errorf("account header = %q, want none for the default account", a)
			}
		})
	}
}

func TestEnqueueOptions(t *testing.T) {
	rdb := srv.Client(t)
	at := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	rc := decodeReceipt(t, runCLI(t, srv.URL(), payload, "enqueue", tasks.TypeEasemobPushSingle,
		"--at", at.Format(time.RFC3339), "--account", "shop", "--max-retry", "3", "--timeout", "20s", "--retention", "1h"))
	info, err := asynq.NewInspectorFromRedisClient(rdb).GetTaskInfo("easemob", rc.Tasks[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if info.State != asynq.TaskStateScheduled || !info.NextProcessAt.Equal(at) || !rc.Tasks[0].ProcessAt.Equal(at) {
		t.Errorf("task %v at %v (receipt %v), want scheduled at %v", info.State, info.NextProcessAt, rc.Tasks[0].ProcessAt, at)
	}
	if info.Headers[tasks.HeaderAccount] != "shop" || info.Headers[tasks.HeaderNotBefore] != strconv.FormatInt(at.UnixMilli(), 10) {
		t.Errorf("headers = %v", info.Headers)
	}
	if info.MaxRetry != 3 || info.Timeout != 20*time.Second || info.Retention != time.Hour {
		t.Errorf("MaxRetry, Timeout, Retention = %d, %v, %v", info.MaxRetry, info.Timeout, info.Retention)
	}
}

func TestEnqueueIn(t *testing.T) {
	rdb := srv.Client(t)
	// Due times are kept to the millisecond.
	before := time.Now().Truncate(time.Millisecond)
	rc := decodeReceipt(t, runCLI(t, srv.URL(), payload, "enqueue", tasks.TypeEasemobPushSingle, "--in", "90s"))
	// The due time is rounded up to the millisecond, never early.
	after := time.Now().Add(time.Millisecond)
	info, err := asynq.NewInspectorFromRedisClient(rdb).GetTaskInfo("easemob", rc.Tasks[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	due := rc.Tasks[0].ProcessAt
	if info.State != asynq.TaskStateScheduled || due.Before(before.Add(90*time.Second)) || due.After(after.Add(90*time.Second)) {
		t.Errorf("task %v due %v, want scheduled 90s after %v", info.State, due, before)
	}
}

func TestEnqueueDuplicate(t *testing.T) {
	rdb := srv.Client(t)
	first := decodeReceipt(t, runCLI(t, srv.URL(), payload, "enqueue", tasks.TypeEasemobPushSingle, "--key", "k"))
	second := decodeReceipt(t, runCLI(t, srv.URL(), payload, "enqueue", tasks.TypeEasemobPushSingle, "--key", "k"))
	if first.Tasks[0].Duplicate || !second.Tasks[0].Duplicate || second.Tasks[0].ID != first.Tasks[0].ID {
		t.Errorf("receipts %+v then %+v, want the second a duplicate of the first", first, second)
	}
	q, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo("easemob")
	if err != nil || q.Size != 1 {
		t.Errorf("queue = %+v, %v; want 1 task", q, err)
	}
}

// Bad input exits 2 with one line on stderr naming the problem, and
// leaves Redis empty.
func TestEnqueueBadInput(t *testing.T) {
	single := tasks.TypeEasemobPushSingle
	tests := []struct {
		name   string
		stdin  string
		args   []string
		stderr string // the whole line when it starts with "producer:", else a part of it
	}{
		{"invalid target",
			`{"targets":["u0","u1","u2",""],"pushMessage":{"title":"t","content":"c"}}`,
			[]string{"enqueue", single},
			"producer: easemob push.single: targets[3]: empty user id"},
		{"unknown field",
			`{"targets":["u0"],"pushmesage":{"title":"t","content":"c"}}`,
			[]string{"enqueue", single},
			"producer: easemob push.single: pushmesage: unknown field"},
		{"not JSON", `{"targets":`, []string{"enqueue", single}, "payload: does not decode: not valid JSON"},
		{"empty stdin", ``, []string{"enqueue", single}, "payload: empty"},
		{"unknown type", payload, []string{"enqueue", "easemob:push.everyone"}, `unknown job type "easemob:push.everyone"`},
		{"no type", payload, []string{"enqueue"}, "one job type"},
		{"two types", payload, []string{"enqueue", single, single}, "one job type"},
		{"unknown flag", payload, []string{"enqueue", single, "--bogus"}, "flag provided but not defined: -bogus"},
		{"bad duration", payload, []string{"enqueue", single, "--in", "soon"}, `invalid value "soon" for flag -in`},
		{"bad time", payload, []string{"enqueue", single, "--at", "tomorrow"}, "RFC 3339"},
		{"at and in", payload, []string{"enqueue", single, "--in", "1m", "--at", "2030-01-01T00:00:00Z"}, "excludes --in"},
		{"negative delay", payload, []string{"enqueue", single, "--in", "-5s"}, "producer: --in -5s: must not be negative"},
		{"bad account", payload, []string{"enqueue", single, "--account", "a:b"}, `producer: --account "a:b": may hold only lower-case letters, digits, '_' and '-'`},
		{"empty key", payload, []string{"enqueue", single, "--key", ""}, `producer: --key "": must not be empty`},
		{"negative retries", payload, []string{"enqueue", single, "--max-retry", "-1"}, "--max-retry -1: must not be negative"},
		// These wrapped to -2147483648 and 0 in asynq's 32 bits.
		{"retries past 32 bits", payload, []string{"enqueue", single, "--max-retry", "2147483648"}, "producer: --max-retry 2147483648: must be 0 to 2147483647"},
		{"retries 2^32", payload, []string{"enqueue", single, "--max-retry", "4294967296"}, "producer: --max-retry 4294967296: must be 0 to 2147483647"},
		{"retries past 64 bits", payload, []string{"enqueue", single, "--max-retry", "99999999999999999999"}, "out of range: want 0 to 2147483647"},
		{"timeout too long", payload, []string{"enqueue", single, "--timeout", "1000000h"}, "producer: --timeout 1000000h0m0s: must be at most 876000h0m0s"},
		{"misspelled startDate", `{"start_date":"2030-01-01 12:00:00","pushMessage":{"title":"t","content":"c"}}`,
			[]string{"enqueue", tasks.TypeEasemobPushTask}, "producer: easemob push.task: start_date: unknown field"},
		{"duplicate key", `{"targets":["a"],"targets":["b"],"pushMessage":{"title":"t","content":"c"}}`,
			[]string{"enqueue", single}, "easemob push.single: targets: duplicate key"},
		{"invalid UTF-8", "{\"targets\":[\"a\xff\"],\"pushMessage\":{\"title\":\"t\",\"content\":\"c\"}}",
			[]string{"enqueue", single}, "producer: easemob push.single: targets[0]: not valid UTF-8"},
		{"target dot dot", `{"target":"..","pushMessage":{"title":"t","content":"c"}}`,
			[]string{"enqueue", tasks.TypeEasemobPushSync}, `target: must not be "." or ".."`},
		{"bad zone", payload, []string{"enqueue", single, "--zone", "Mars/Olympus"}, `producer: --zone: "Mars/Olympus" is neither an offset like +08:00 nor a known IANA zone`},
		{"missing file", "", []string{"enqueue", single, "-f", "/nonexistent/job.json"}, "no such file"},
		{"unknown command", payload, []string{"push", single}, `unknown command "push"`},
		{"no command", "", nil, "no command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := srv.Client(t)
			r := runCLI(t, srv.URL(), tt.stdin, tt.args...)
			if r.code != exitInput {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, exitInput, r.stderr)
			}
			line, rest, _ := strings.Cut(r.stderr, "\n")
			if rest != "" || !strings.HasPrefix(line, "producer: ") {
				t.Errorf("stderr = %q, want one line starting with \"producer: \"", r.stderr)
			}
			if strings.HasPrefix(tt.stderr, "producer:") && line != tt.stderr || !strings.Contains(line, tt.stderr) {
				t.Errorf("stderr = %q, want %q", line, tt.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			if n, err := rdb.DBSize(context.Background()).Result(); err != nil || n != 0 {
				t.Errorf("Redis holds %d keys (%v), want 0", n, err)
			}
		})
	}
}

// The CLI checks startDate in the account's zone: --zone, else the
// worker's per-account variable, else HERALD_ZONE, else +08:00. The
// startDate below is 90 minutes ahead in UTC: 7.5 h in the past read in
// +08:00.
func TestEnqueueZone(t *testing.T) {
	start := tasks.EasemobStartDate(time.Now().Add(90*time.Minute), time.UTC)
	job := `{"startDate":"` + start + `","pushMessage":{"title":"t","content":"c"}}`
	tests := []struct {
		name string
		env  map[string]string
		args []string
		ok   bool
	}{
		{"default +08:00", nil, nil, false},
		{"flag", nil, []string{"--zone", "UTC"}, true},
		{"flag offset", nil, []string{"--zone", "+00:00"}, true},
		{"HERALD_ZONE", map[string]string{"HERALD_ZONE": "Etc/UTC"}, nil, true},
		{"account variable", map[string]string{"HERALD_EASEMOB_SHOP_ZONE": "+00:00"}, []string{"--account", "shop"}, true},
		{"other account's variable", map[string]string{"HERALD_EASEMOB_SHOP_ZONE": "+00:00"}, nil, false},
		{"account variable beats HERALD_ZONE", map[string]string{"HERALD_EASEMOB_SHOP_ZONE": "+00:00", "HERALD_ZONE": "Asia/Shanghai"},
			[]string{"--account", "shop"}, true},
		{"flag beats variables", map[string]string{"HERALD_EASEMOB_DEFAULT_ZONE": "+08:00", "HERALD_ZONE": "+08:00"},
			[]string{"--zone", "UTC"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"enqueue", tasks.TypeEasemobPushTask, "--dry-run"}, tt.args...)
			r := runCLIEnv(t, tt.env, job, args...)
			if tt.ok && r.code != exitOK || !tt.ok && (r.code != exitInput || !strings.Contains(r.stderr, "startDate")) {
				t.Errorf("exit %d, stderr %q; want ok=%v", r.code, r.stderr, tt.ok)
			}
		})
	}
}

// A dry run needs no Redis: it prints the tasks enqueue would add, split
// per provider call.
// A dry run names the shard queue when the task id is known (--key), and
// leaves it out when the id, and so the shard, is made at enqueue.
func TestEnqueueDryRunShards(t *testing.T) {
	env := map[string]string{"HERALD_SHARDS": "8"}
	tests := []struct {
		name      string
		args      []string
		wantID    string
		wantQueue string
	}{
		{"keyed", []string{"--key", "order-7"}, "order-7", tasks.Easemob.QueueFor("order-7", 8)},
		{"unkeyed", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"enqueue", tasks.TypeEasemobPushSingle, "--dry-run"}, tt.args...)
			r := runCLIEnv(t, env, payload, args...)
			if r.code != exitOK {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			var out struct {
				Tasks []struct{ ID, Queue string }
			}
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
				t.Fatal(err)
			}
			if len(out.Tasks) != 1 || out.Tasks[0].ID != tt.wantID || out.Tasks[0].Queue != tt.wantQueue {
				t.Fatalf("dry run = %s, want id %q in queue %q", r.stdout, tt.wantID, tt.wantQueue)
			}
		})
	}
	r := runCLIEnv(t, map[string]string{"HERALD_SHARDS": "0"}, payload, "enqueue", tasks.TypeEasemobPushSingle, "--dry-run")
	if r.code != exitInput || !strings.Contains(r.stderr, "HERALD_SHARDS") {
		t.Fatalf("HERALD_SHARDS=0 in a dry run: exit %d, stderr %q; want bad input naming it", r.code, r.stderr)
	}
}

func TestEnqueueDryRun(t *testing.T) {
	targets := make([]string, 150)
	for i := range targets {
		targets[i] = fmt.Sprintf("u%d", i)
	}
	b, _ := json.Marshal(map[string]any{"targets": targets, "pushMessage": map[string]any{
		"title": "t", "content": "c", "ext": json.RawMessage(`{"orderId":9007199254740993}`)}})
	r := runCLIEnv(t, nil, string(b), "enqueue", tasks.TypeEasemobPushSingle, "--dry-run", "--max-retry", "3")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var out struct {
		DryRun bool `json:"dry_run"`
		Tasks  []struct {
			Type, Queue string
			Payload     json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if !out.DryRun || len(out.Tasks) != 2 || out.Tasks[0].Queue != "easemob" {
		t.Fatalf("dry run = %s", r.stdout)
	}
	for _, task := range out.Tasks {
		var compact bytes.Buffer
		if err := json.Compact(&compact, task.Payload); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(compact.String(), `"ext":{"orderId":9007199254740993}`) {
			t.Errorf("payload %s lost the ext number", task.Payload)
		}
		if _, err := tasks.Parse(task.Type, task.Payload); err != nil {
			t.Errorf("payload does not parse: %v", err)
		}
	}
}

func TestRedisURL(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
	}{
		{"environment", srv.URL(), []string{"enqueue", tasks.TypeEasemobPushSingle}},
		{"global flag", "", []string{"--redis", srv.URL(), "enqueue", tasks.TypeEasemobPushSingle}},
		{"command flag", "", []string{"enqueue", tasks.TypeEasemobPushSingle, "--redis", srv.URL()}},
		{"flag beats environment", "redis://127.0.0.1:1", []string{"enqueue", "--redis=" + srv.URL(), tasks.TypeEasemobPushSingle}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Client(t)
			decodeReceipt(t, runCLI(t, tt.env, payload, tt.args...))
		})
	}
}

func TestMissingRedisURL(t *testing.T) {
	for _, args := range [][]string{
		{"enqueue", tasks.TypeEasemobPushSingle},
		{"status", "k"},
		{"cancel", "k"},
	} {
		r := runCLI(t, "", payload, args...)
		if r.code != exitInput || !strings.Contains(r.stderr, envRedisURL) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want %d and one line naming %s", args, r.code, r.stderr, exitInput, envRedisURL)
		}
	}
}

func TestBadRedisURL(t *testing.T) {
	r := runCLI(t, "http://user:hunter2@localhost:6379", payload, "status", "k")
	if r.code != exitInput || strings.Contains(r.stderr, "hunter2") {
		t.Errorf("exit %d, stderr %q; want %d without the password", r.code, r.stderr, exitInput)
	}
}

func TestRedisDown(t *testing.T) {
	for _, args := range [][]string{
		{"enqueue", tasks.TypeEasemobPushSingle},
		{"status", "k"},
	} {
		r := runCLI(t, "redis://127.0.0.1:1/0?max_retries=-1", payload, args...)
		if r.code != exitFailure || !strings.Contains(r.stderr, "connection refused") {
			t.Errorf("%v: exit %d, stderr %q; want %d and the cause", args, r.code, r.stderr, exitFailure)
		}
	}
}

func TestStatusAndCancel(t *testing.T) {
	rdb := srv.Client(t)
	url := srv.URL()
	decodeReceipt(t, runCLI(t, url, payload, "enqueue", tasks.TypeEasemobPushSingle, "--key", "r", "--in", "1h", "--account", "shop"))

	r := runCLI(t, url, "", "status", "r")
	var st tasks.Status
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &st) != nil {
		t.Fatalf("status: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if st.ID != "r" || st.State != "scheduled" || st.Account != "shop" || st.Queue != "easemob" {
		t.Errorf("status = %+v", st)
	}

	r = runCLI(t, url, "", "cancel", "r")
	if r.code != exitOK || strings.TrimSpace(r.stdout) != "{\n  \"cancelled\": \"r\"\n}" {
		t.Fatalf("cancel: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if _, err := asynq.NewInspectorFromRedisClient(rdb).GetTaskInfo("easemob", "r"); !errors.Is(err, asynq.ErrTaskNotFound) {
		t.Errorf("task still in Redis after cancel: %v", err)
	}

	for _, cmd := range []string{"status", "cancel"} {
		r = runCLI(t, url, "", cmd, "r")
		if r.code != exitNotFound || !strings.Contains(r.stderr, `"r"`) || r.stdout != "" {
			t.Errorf("%s after cancel: exit %d, stdout %q, stderr %q; want %d", cmd, r.code, r.stdout, r.stderr, exitNotFound)
		}
	}
}

func TestCancelCompleted(t *testing.T) {
	rdb := srv.Client(t)
	url := srv.URL()
	decodeReceipt(t, runCLI(t, url, payload, "enqueue", tasks.TypeEasemobPushSingle, "--key", "done"))
	completeTasks(t, rdb)
	r := runCLI(t, url, "", "cancel", "done")
	if r.code != exitNotCancellable || !strings.Contains(r.stderr, "completed") {
		t.Errorf("cancel: exit %d, stderr %q; want %d naming the state", r.code, r.stderr, exitNotCancellable)
	}
}

// completeTasks runs an asynq server over the easemob queue until it is
// empty of pending tasks, each handled successfully.
func completeTasks(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	w := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Queues:            map[string]int{"easemob": 1},
		LogLevel:          asynq.FatalLevel,
		TaskCheckInterval: 10 * time.Millisecond,
	})
	if err := w.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown()
	in := asynq.NewInspectorFromRedisClient(rdb)
	deadline := time.Now().Add(10 * time.Second)
	for {
		q, err := in.GetQueueInfo("easemob")
		if err == nil && q.Pending == 0 && q.Active == 0 && q.Completed > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks not completed: %+v, %v", q, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"enqueue", "--help"}} {
		r := runCLI(t, "", "", args...)
		if r.code != exitOK || r.stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
		for _, typ := range tasks.Types() {
			if !strings.Contains(r.stdout, "  "+typ+"\n") {
				t.Errorf("%v: usage does not list %s", args, typ)
			}
		}
		for _, code := range []int{exitFailure, exitInput, exitNotFound, exitNotCancellable} {
			if !strings.Contains(r.stdout, fmt.Sprintf("\n  %d  ", code)) {
				t.Errorf("%v: usage does not explain exit status %d", args, code)
			}
		}
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{&tasks.ValidationError{Job: "j", Field: "f", Rule: "r"}, exitInput},
		{fmt.Errorf("wrapped: %w", &tasks.OptionError{Option: "MaxRetry"}), exitInput},
		{fmt.Errorf("%w: x", tasks.ErrUnknownType), exitInput},
		{fmt.Errorf("%w: x", tasks.ErrKeyReused), exitInput},
		{fmt.Errorf("%w: x", tasks.ErrNotFound), exitNotFound},
		{fmt.Errorf("%w: task is active", tasks.ErrNotCancellable), exitNotCancellable},
		{fmt.Errorf("%w: x", tasks.ErrAmbiguousID), exitFailure},
		{errors.New("dial tcp: connection refused"), exitFailure},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// HERALD_SHARDS spreads the jobs as the workers' shards setting does, and
// status finds them; a value that is not a shard count is bad input.
func TestEnqueueShards(t *testing.T) {
	srv.Client(t) // flushed
	env := map[string]string{envRedisURL: srv.URL(), envShards: "4"}
	queues := map[string]bool{}
	for i := range 12 {
		rc := decodeReceipt(t, runCLIEnv(t, env, payload, "enqueue", tasks.TypeEasemobPushSingle, "--key", fmt.Sprintf("s%d", i)))
		ref := rc.Tasks[0]
		if want := tasks.Easemob.QueueFor(ref.ID, 4); ref.Queue != want {
			t.Fatalf("task %s in %s, want %s", ref.ID, ref.Queue, want)
		}
		queues[ref.Queue] = true
		if r := runCLIEnv(t, env, "", "status", ref.ID); r.code != exitOK || !strings.Contains(r.stdout, ref.Queue) {
			t.Fatalf("status %s: exit %d %s %s", ref.ID, r.code, r.stdout, r.stderr)
		}
	}
	if len(queues) < 2 {
		t.Errorf("12 jobs over 4 shards all went to %v", queues)
	}
	for _, bad := range []string{"x", "0", "65"} {
		env[envShards] = bad
		r := runCLIEnv(t, env, payload, "enqueue", tasks.TypeEasemobPushSingle)
		if r.code != exitInput || !strings.Contains(r.stderr, "HERALD_SHARDS") {
			t.Errorf("HERALD_SHARDS=%s: exit %d, stderr %q; want bad input naming it", bad, r.code, r.stderr)
		}
	}
}
