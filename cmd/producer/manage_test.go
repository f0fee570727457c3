package main

import (
	"context"
	"encoding/json"

	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/tasks"
)

// Every job type has a sample, and each sample is a job enqueue accepts.
func TestExampleSamples(t *testing.T) {
	for _, typ := range tasks.Types() {
		t.Run(typ, func(t *testing.T) {
			r := runCLI(t, "", "", "example", typ)
			if r.code != exitOK || r.stderr != "" {
				t.Fatalf("example: exit %d, stderr %q", r.code, r.stderr)
			}
			if !json.Valid([]byte(r.stdout)) {
				t.Fatalf("sample is not JSON: %s", r.stdout)
			}
			dry := runCLI(t, "", r.stdout, "enqueue", typ, "--dry-run")
			if dry.code != exitOK {
				t.Errorf("sample does not validate: exit %d, %s", dry.code, dry.stderr)
			}
		})
	}
	for typ := range samples {
		if !slices.Contains(tasks.Types(), typ) {
			t.Errorf("sample for %q, which is no job type", typ)
		}
	}
	if r := runCLI(t, "", "", "example", "sms:send"); r.code != exitInput {
		t.Errorf("unknown type: exit %d", r.code)
	}
}

// runServer runs an asynq server over the easemob queue with handler h
// until the test ends.
func runServer(t *testing.T, rdb redis.UniversalClient, h asynq.HandlerFunc) {
	t.Helper()
	w := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Queues: map[string]int{"easemob": 1}, LogLevel: asynq.FatalLevel,
		TaskCheckInterval: 10 * time.Millisecond, ShutdownTimeout: time.Second,
	})
	if err := w.Start(h); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Shutdown)
}

func decodeJSON[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("exit %d, stdout %q, stderr %q: %v", r.code, r.stdout, r.stderr, err)
	}
	return v
}

// list, retry and delete against a real Redis and an asynq worker: a job
// archived by a worker is listed as archived, run again by retry, and its
// record removed by delete once it completed.
func TestListRetryDelete(t *testing.T) {
	rdb := srv.Client(t)
	url := srv.URL()
	fail := make(chan bool, 1)
	fail <- true
	runServer(t, rdb, func(context.Context, *asynq.Task) error {
		select {
		case <-fail:
			return fmt.Errorf("provider said no: %w", asynq.SkipRetry)
		default:
			return nil
		}
	})
	decodeReceipt(t, runCLI(t, url, payload, "enqueue", tasks.TypeEasemobPushSingle, "--key", "a"))
	decodeReceipt(t, runCLI(t, url, payload, "enqueue", tasks.TypeEasemobPushSingle, "--key", "later", "--in", "1h"))

	waitCLI(t, url, "a", "archived")
	l := decodeJSON[tasks.TaskList](t, runCLI(t, url, "", "list", "easemob", "--state", "archived"))
	if l.Total != 1 || len(l.Tasks) != 1 || l.Tasks[0].ID != "a" || !strings.Contains(l.Tasks[0].LastError, "provider said no") || l.Tasks[0].Attempts != 1 {
		t.Fatalf("archived list = %+v", l)
	}
	l = decodeJSON[tasks.TaskList](t, runCLI(t, url, "", "list", "easemob", "--state=scheduled", "--size", "5"))
	if l.Total != 1 || l.Tasks[0].ID != "later" || l.Size != 5 || l.Tasks[0].NextProcessAt.Location() != time.UTC {
		t.Fatalf("scheduled list = %+v", l)
	}

	if r := runCLI(t, url, "", "retry", "later"); r.code != exitNotCancellable || !strings.Contains(r.stderr, "scheduled") {
		t.Errorf("retry of a scheduled task: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runCLI(t, url, "", "retry", "a"); r.code != exitOK || !strings.Contains(r.stdout, `"retried": "a"`) {
		t.Fatalf("retry: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	st := waitCLI(t, url, "a", "completed")
	if st.Attempts != 1 {
		t.Errorf("attempts after the rerun = %d, want 1 (the rerun is the archived attempt again)", st.Attempts)
	}

	if r := runCLI(t, url, "", "cancel", "a"); r.code != exitNotCancellable {
		t.Errorf("cancel of a completed task: exit %d", r.code)
	}
	for _, id := range []string{"a", "later"} {
		if r := runCLI(t, url, "", "delete", id); r.code != exitOK || !strings.Contains(r.stdout, `"deleted": "`+id+`"`) {
			t.Fatalf("delete %s: exit %d, stdout %q, stderr %q", id, r.code, r.stdout, r.stderr)
		}
		if r := runCLI(t, url, "", "status", id); r.code != exitNotFound {
			t.Errorf("status after delete: exit %d", r.code)
		}
	}
	// The key is free again.
	if rc := decodeReceipt(t, runCLI(t, url, payload, "enqueue", tasks.TypeEasemobPushSingle, "--key", "a", "--in", "1h")); rc.Duplicate() {
		t.Error("key still taken after delete")
	}
	// Only the scheduled task had no outcome: one cancelled event.
	evs, _ := rdb.XRange(t.Context(), tasks.DefaultEventStream, "-", "+").Result()
	if len(evs) != 1 || !strings.Contains(evs[0].Values["event"].(string), `"task_id":"later"`) {
		t.Errorf("events = %v, want one cancelled event for the scheduled task", evs)
	}

	for _, args := range [][]string{
		{"list"}, {"list", "sms"}, {"list", "easemob", "--state", "done"}, {"list", "easemob", "--page", "0"},
		{"list", "easemob", "--size", "1001"}, {"retry"}, {"delete", "a", "b"}, {"status", "a", "--timeout", "1s"},
	} {
		if r := runCLI(t, url, "", args...); r.code != exitInput || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want %d", args, r.code, r.stderr, exitInput)
		}
	}
}

// waitCLI polls `producer status` until the task is in state.
func waitCLI(t *testing.T, url, id, state string) tasks.Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := runCLI(t, url, "", "status", id)
		if r.code == exitOK {
			if st := decodeJSON[tasks.Status](t, r); st.State == state {
				return st
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s not %s: %s %s", id, state, r.stdout, r.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// status --wait returns when the task is done: 0 for completed, 5 for
// archived, 6 when the timeout runs out first, printing the state each time.
func TestStatusWait(t *testing.T) {
	rdb := srv.Client(t)
	url := srv.URL()
	decodeReceipt(t, runCLI(t, url, payload, "enqueue", tasks.TypeEasemobPushSingle, "--key", "ok"))
	decodeReceipt(t, runCLI(t, url, `{"targets":["x"],"pushMessage":{"title":"fail","content":"c"}}`, "enqueue", tasks.TypeEasemobPushSingle, "--key", "bad"))
	decodeReceipt(t, runCLI(t, url, payload, "enqueue", tasks.TypeEasemobPushSingle, "--key", "later", "--in", "1h"))

	// The worker starts only once the waits are under way.
	done := make(chan result, 2)
	go func() { done <- runCLI(t, url, "", "status", "ok", "--wait") }()
	go func() { done <- runCLI(t, url, "", "status", "--wait", "bad", "--timeout", "1m") }()
	runServer(t, rdb, func(_ context.Context, task *asynq.Task) error {
		if strings.Contains(string(task.Payload()), "fail") {
			return fmt.Errorf("refused: %w", asynq.SkipRetry)
		}
		return nil
	})
	codes := map[string]int{}
	for range 2 {
		r := <-done
		st := decodeJSON[tasks.Status](t, r)
		codes[st.ID] = r.code
		if st.State != map[string]string{"ok": "completed", "bad": "archived"}[st.ID] {
			t.Errorf("%s: state %s", st.ID, st.State)
		}
	}
	if codes["ok"] != exitOK || codes["bad"] != exitArchived {
		t.Errorf("exit codes %v, want ok %d and bad %d", codes, exitOK, exitArchived)
	}
	r := runCLI(t, url, "", "status", "later", "--wait", "--timeout", "300ms")
	if r.code != exitStillRunning || !strings.Contains(r.stderr, "still scheduled") {
		t.Errorf("timeout: exit %d, stderr %q", r.code, r.stderr)
	}
}

// Enqueue warns about an account no worker has published, and only then.
func TestUnknownAccountWarning(t *testing.T) {
	rdb := srv.Client(t)
	url := srv.URL()
	if r := runCLI(t, url, payload, "enqueue", tasks.TypeEasemobPushSingle, "--account", "shop"); r.code != exitOK || r.stderr != "" {
		t.Errorf("no worker has published accounts: exit %d, stderr %q; want no warning", r.code, r.stderr)
	}
	rdb.ZAdd(t.Context(), tasks.AccountsKey, redis.Z{Score: 1, Member: "easemob:default"}, redis.Z{Score: 1, Member: "enos:shop"})
	r := runCLI(t, url, payload, "enqueue", tasks.TypeEasemobPushSingle, "--account", "shop")
	if r.code != exitOK || !strings.Contains(r.stderr, `warning: no worker has published the easemob account "shop" (they have: default`) {
		t.Errorf("unknown account: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runCLI(t, url, payload, "enqueue", tasks.TypeEasemobPushSingle); r.code != exitOK || r.stderr != "" {
		t.Errorf("known account: exit %d, stderr %q", r.code, r.stderr)
	}
}
