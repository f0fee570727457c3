package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/internal/redistest"
	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/providers/enos/enossim"
	"github.com/herald-dispatch/herald/providers/feishu/feishusim"
	"github.com/herald-dispatch/herald/providers/simkit"
	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// On a 3-master Redis Cluster with 8 shards, every provider's queues are
// spread over all the masters; a backlog of jobs of every provider, the
// Easemob ones for 8 accounts, all goes out; while every provider has
// work they are served in the ratio of their weights; and no account's
// jobs wait behind another's.
func TestShardsOnCluster(t *testing.T) {
	const shards = 8
	cl, err := redistest.StartCluster(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Stop)
	rc := cl.Client(t) // flushed
	ctx := context.Background()

	// Each provider's shards live on every master, two or more each.
	for _, p := range tasks.Providers() {
		perMaster := map[string]int{}
		for _, q := range p.Queues(shards) {
			m, err := rc.MasterForKey(ctx, "asynq:{"+q+"}:pending")
			if err != nil {
				t.Fatal(err)
			}
			perMaster[m.Options().Addr]++
		}
		if len(perMaster) != 3 {
			t.Fatalf("%s's %d shards sit on %d masters, want 3: %v", p, shards, len(perMaster), perMaster)
		}
		for addr, n := range perMaster {
			if n < 2 {
				t.Errorf("%s has %d of its %d shards on master %s, want at least 2", p, n, shards, addr)
			}
		}
	}

	demo, err := worker.StartDemo()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(demo.Close)
	cfg := worker.Defaults()
	demo.Configure(&cfg)
	cfg.Redis = worker.RedisConfig{Addrs: cl.Addrs, Cluster: true}
	cfg.Admin.Addr = "-"
	cfg.Shards = shards
	cfg.Concurrency = 4
	cfg.Queues = map[string]int{"easemob": 3, "feishu": 1, "dingtalk": 1, "enos": 1}
	// Feishu's documented 10 a minute would make this test ten minutes
	// long; the limits are not what it is about.
	demo.Feishu.SetLimit(feishusim.ExecuteSend, simkit.Limit{N: 1000, Per: time.Second})
	feishu := cfg.Feishu["default"]
	feishu.Limits = map[string]worker.LimitConfig{"execute_send": {Jobs: []string{"execute_send"}, Rate: 1000, Per: worker.Duration(time.Second)}}
	cfg.Feishu["default"] = feishu
	accounts := make([]string, 8)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("shop%d", i)
		cfg.Easemob[accounts[i]] = cfg.Easemob["default"]
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	rdb, err := worker.NewRedisClient(cfg.Redis)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })

	// The backlog is in Redis before the worker starts, so every provider
	// has work from the first job on.
	producer := tasks.NewProducer(rdb, tasks.WithShards(shards))
	const perAccount, perOther = 30, 60
	enqueue := func(job tasks.Job, opts ...tasks.Option) {
		t.Helper()
		if _, err := producer.Enqueue(ctx, job, opts...); err != nil {
			t.Fatal(err)
		}
	}
	for i := range perAccount {
		for _, a := range accounts {
			enqueue(&tasks.EasemobPushAsync{Target: fmt.Sprintf("u%d", i), PushMessage: message(a)}, tasks.Account(a))
		}
	}
	one := 1
	for i := range perOther {
		enqueue(&tasks.FeishuExecuteSend{NotificationID: fmt.Sprint(6985032626234982420 + i), SendAt: tasks.FeishuSendAt(time.Now().Add(time.Hour))})
		enqueue(&tasks.DingTalkSend{UseridList: "manager7675", Msg: tasks.DingTalkMsg{MsgType: "text", Text: json.RawMessage(`{"content":"shard test"}`)}})
		enqueue(&tasks.EnOSNoticeProduce{OrgID: enossim.DefaultOrgID, Messages: []tasks.EnOSMessage{{
			MessageID: fmt.Sprintf("m%d", i), MessageType: &one, AppID: "herald-test",
			Header: &tasks.I18n{DefaultValue: "Inspect"}, Body: &tasks.I18n{DefaultValue: "turbine"},
			TargetType: &one, Targets: []string{"engineer01"},
		}}})
	}
	easemobJobs := perAccount * len(accounts)
	total := easemobJobs + 3*perOther
	logs := &syncBuffer{}
	_, stop := runWorker(t, cfg, rdb, logs)
	defer func() {
		if t.Failed() {
			t.Logf("worker logs:\n%s", logs.String())
		}
	}()
	defer stop()

	// Outcomes in the order the worker recorded them.
	var done []tasks.Event
	deadline := time.Now().Add(2 * time.Minute)
	for len(done) < total && time.Now().Before(deadline) {
		msgs, err := rdb.XRange(ctx, tasks.DefaultEventStream, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		done = done[:0]
		for _, m := range msgs {
			ev, err := tasks.ReadEvent(m)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Outcome != tasks.Delivered {
				t.Fatalf("task %s (%s, %s): %s %s", ev.TaskID, ev.Type, ev.Queue, ev.Outcome, ev.Reason)
			}
			if slices.Contains(tasks.Types(), ev.Type) {
				done = append(done, ev)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(done) < total {
		by := map[string]int{}
		for _, ev := range done {
			by[ev.Type]++
		}
		t.Fatalf("%d of %d jobs delivered in 2 minutes: %v", len(done), total, by)
	}

	// While all four providers still have work (the first 120 jobs: by
	// then at most 120 of the 180 of any one of them are gone), Easemob
	// has weight 3 of 6 and the others 1 of 6 each. Bounds of about three
	// standard deviations of asynq's weighted random pick.
	const window = 120
	share := map[tasks.Provider]int{}
	queues := map[string]bool{}
	for _, ev := range done[:window] {
		p, _ := tasks.ProviderOf(ev.Type)
		share[p]++
		queues[ev.Queue] = true
	}
	if n := share[tasks.Easemob]; n < window/3 || n > window*2/3 {
		t.Errorf("easemob took %d of the first %d jobs, want about %d (weight 3 of 6): %v", n, window, window/2, share)
	}
	for _, p := range []tasks.Provider{tasks.Feishu, tasks.DingTalk, tasks.EnOS} {
		if n := share[p]; n < 8 || n > 35 {
			t.Errorf("%s took %d of the first %d jobs, want about %d (weight 1 of 6): %v", p, n, window, window/6, share)
		}
	}
	if len(queues) < 16 {
		t.Errorf("the first %d jobs came from %d queues, want most of the %d shards", window, len(queues), 4*shards)
	}

	// No account starves: each has jobs done within the first half of the
	// Easemob jobs.
	firstHalf := map[string]int{}
	seen := 0
	for _, ev := range done {
		if p, _ := tasks.ProviderOf(ev.Type); p != tasks.Easemob {
			continue
		}
		if seen++; seen > easemobJobs/2 {
			break
		}
		firstHalf[ev.Account]++
	}
	for _, a := range accounts {
		if firstHalf[a] == 0 {
			t.Errorf("account %s had none of its %d jobs done among the first %d Easemob jobs: %v", a, perAccount, easemobJobs/2, firstHalf)
		}
	}
}

// Jobs a producer spread over more shards than the worker is configured
// for are not stranded: the worker serves every shard of its providers
// that Redis holds when it starts, and says so.
func TestWorkerServesOtherShardCounts(t *testing.T) {
	s := newIdleStack(t, easemobsim.Options{}, nil) // shards: 1
	s.producer = tasks.NewProducer(s.rdb, tasks.WithShards(4))
	var ids []string
	queues := map[string]bool{}
	for i := range 20 {
		r := s.enqueue(t, asyncJob(fmt.Sprintf("u%d", i)))
		ids = append(ids, r.IDs()...)
		queues[r.Tasks[0].Queue] = true
	}
	if len(queues) < 2 {
		t.Fatalf("20 jobs over 4 shards went to %v", queues)
	}
	s.startWorker(t)
	s.waitState(t, "completed", ids...)
	if !strings.Contains(s.logs.String(), "serving queues of another shard count") {
		t.Errorf("no warning about the other shards in the logs:\n%s", s.logs.String())
	}
}
