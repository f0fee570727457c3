package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// runDemo runs a worker on the demo's embedded Redis and simulators,
// enqueues a sample of every Easemob job through the producer, waits until
// each is delivered and shows what the simulator received.
//
// With faults, some simulator calls fail (demoFaults): the jobs they hit
// are retried or archived, on purpose, and the demo still exits 0 if that
// is all that went wrong.
func runDemo(ctx context.Context, cfg worker.Config, d *worker.Demo, log zerolog.Logger, out io.Writer, keep, faults bool) int {
	rdb, err := worker.NewRedisClient(cfg.Redis)
	if err != nil {
		log.Error().Err(err).Msg("demo redis")
		return 1
	}
	defer rdb.Close()
	w, err := worker.New(cfg, rdb, log)
	if err != nil {
		log.Error().Err(err).Msg("demo worker")
		return 1
	}
	wctx, stopWorker := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { stopWorker(); <-done }()

	producer := tasks.NewProducer(rdb, tasks.WithShards(max(cfg.Shards, 1)))
	fmt.Fprintln(out, "Herald demo: an embedded Redis and Easemob, Feishu, DingTalk and EnOS simulators; nothing persists, nothing leaves this machine.")
	fmt.Fprintln(out)
	archivedOnPurpose := 0
	if faults {
		archivedOnPurpose = demoFaults(d, out)
	}

	var ids []string
	enqueue := func(what string, job tasks.Job, opts ...tasks.Option) {
		if err != nil {
			return
		}
		var r *tasks.Receipt
		r, err = producer.Enqueue(ctx, job, opts...)
		if err != nil {
			err = fmt.Errorf("%s: %w", what, err)
			return
		}
		dup := ""
		if r.Duplicate() {
			dup = " (duplicate key: the existing task, nothing new)"
		}
		fmt.Fprintf(out, "enqueued %-40s -> %d task(s) %s%s\n", what, len(r.Tasks), strings.Join(r.IDs(), ", "), dup)
		for _, id := range r.IDs() {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	msg := func(title string) tasks.PushMessage {
		return tasks.PushMessage{Title: title, Content: "Hello from the Herald demo"}
	}
	users := make([]string, 150)
	for i := range users {
		users[i] = fmt.Sprintf("user%03d", i+1)
	}
	enqueue("push.sync to alice", &tasks.EasemobPushSync{Target: "alice", PushMessage: msg("Sync push")})
	enqueue("push.async to bob", &tasks.EasemobPushAsync{Target: "bob", PushMessage: msg("Async push")})
	enqueue("push.single to 150 users", &tasks.EasemobPushSingle{Targets: users, PushMessage: msg("Batch push")})
	enqueue("push.label to label vip", &tasks.EasemobPushLabel{Targets: []string{"vip"}, PushMessage: msg("Label push")})
	enqueue("push.task to all users, startDate in 2h", &tasks.EasemobPushTask{
		StartDate: tasks.EasemobStartDate(time.Now().Add(2*time.Hour), nil), PushMessage: msg("Broadcast")})
	enqueue("push.sync to carol, delivered in 3s", &tasks.EasemobPushSync{Target: "carol", PushMessage: msg("Scheduled push")},
		tasks.DeliverIn(3*time.Second))
	order := &tasks.EasemobPushSingle{Targets: []string{"dave", "erin"}, PushMessage: msg("Order shipped")}
	enqueue("push.single, idempotency key order-42", order, tasks.IdempotencyKey("order-42"))
	enqueue("push.single, same key again", order, tasks.IdempotencyKey("order-42"))
	enqueueFeishu(enqueue)
	enqueueEnOS(enqueue)
	if err == nil {
		var dt []string
		dt, err = demoDingTalk(ctx, producer, out)
		ids = append(ids, dt...)
	}
	if err != nil {
		log.Error().Err(err).Msg("demo enqueue")
		return 1
	}

	fmt.Fprintln(out)
	fmt.Fprintln(out, "waiting for the worker…")
	statuses, err := waitDone(ctx, producer, ids, time.Minute, done)
	if err != nil {
		log.Error().Err(err).Msg("demo")
		return 1
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nTASK\tTYPE\tSTATE\tRESULT")
	failed := 0
	for _, st := range statuses {
		res := string(st.Result)
		if st.State != "completed" {
			failed++
			res = st.LastError
		}
		if len(res) > 90 {
			res = res[:87] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", st.ID, st.Type, st.State, res)
	}
	tw.Flush()

	fmt.Fprintln(out, "\nWhat the Easemob simulator received:")
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENDPOINT\tRECIPIENTS\tSTART DATE\tPUSH MESSAGE")
	for _, r := range d.Easemob.Received() {
		recipients := strings.Join(r.Targets, ",")
		if len(r.Targets) > 3 {
			recipients = fmt.Sprintf("%d users (%s … %s)", len(r.Targets), r.Targets[0], r.Targets[len(r.Targets)-1])
		}
		if recipients == "" {
			recipients = "all users"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Endpoint, recipients, r.StartDate, r.PushMessage)
	}
	tw.Flush()
	showFeishu(out, d)
	showEnOS(out, d)
	fmt.Fprintf(out, "\n%d of %d tasks delivered.\n", len(statuses)-failed, len(statuses))
	if faults {
		fmt.Fprintf(out, "%d archived on purpose (-faults); see them with: producer list easemob --state archived\n", archivedOnPurpose)
		failed -= archivedOnPurpose
	}

	if keep {
		fmt.Fprintf(out, "\nThe worker keeps running: queues at http://%s%s — Ctrl-C to stop.\n", cfg.Admin.Addr, worker.MonitoringPath)
		select {
		case <-ctx.Done():
		case <-done:
			done <- nil
		}
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// waitDone polls the tasks until each has completed or been archived, or
// the worker stops.
func waitDone(ctx context.Context, p *tasks.Producer, ids []string, limit time.Duration, worker chan error) ([]*tasks.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		var out []*tasks.Status
		for _, id := range ids {
			st, err := p.Status(ctx, id)
			if err != nil {
				return nil, err
			}
			if st.State != "completed" && st.State != "archived" {
				break
			}
			out = append(out, st)
		}
		if len(out) == len(ids) {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, errors.New("demo: tasks not done within " + limit.String())
		case err := <-worker:
			worker <- err // for the deferred stop
			return nil, fmt.Errorf("demo: the worker stopped: %w", err)
		case <-tick.C:
		}
	}
}

// demoAdminAddr settles the demo's admin address before anything starts:
// a port already taken (another demo, some service on 8080) or port 0 is
// replaced by a free port on the same host, and the change is said. Demo
// mode is a throwaway on this machine, so moving is better than failing;
// a real worker keeps the address it was given and fails if it is taken.
func demoAdminAddr(cfg *worker.Config, out io.Writer) error {
	addr := cfg.Admin.Addr
	if addr == "-" {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("admin.addr %q: %w", addr, err)
	}
	var taken error
	if port != "0" {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln.Close()
		}
		taken = err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return fmt.Errorf("demo: cannot listen on %s for the admin server: %w (set HERALD_ADMIN_ADDR=127.0.0.1:<port>, or - for none)", addr, err)
	}
	cfg.Admin.Addr = ln.Addr().String()
	if taken != nil {
		fmt.Fprintf(out, "Admin port %s is not free (%v); the demo's admin server and queue UI use %s instead.\n"+
			"To choose the port: HERALD_ADMIN_ADDR=127.0.0.1:<port> worker demo\n", port, taken, cfg.Admin.Addr)
	}
	return ln.Close()
}
