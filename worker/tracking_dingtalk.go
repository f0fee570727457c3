package worker

// Tracking a DingTalk send.
//
// asyncsend_v2 answers with a task_id at once and delivers afterwards, so a
// send is followed to its outcome: getsendprogress until DingTalk says done
// (status 2), then getsendresult. The follow-up must not hold a worker slot
// while it waits, must survive worker restarts and must pass the progress
// and result limits like any other call. So:
//
//   - The send's handler, once DingTalk has answered, writes the task_id to
//     the send's tracking hash (tasks.TrackingKey) and enqueues the first
//     check, a task of the internal type dingTalkTrackType on the dingtalk
//     queue, scheduled after the first backoff. Both happen before the
//     handler returns, so a crash after them leaves a scheduled check in
//     Redis, and a crash before them is a send whose reply never arrived
//     (the in-doubt window every provider has).
//   - The hash doubles as the send's delivered-marker: a send retried after
//     a crash finds its task_id there and does not send again; it only makes
//     sure a check is scheduled.
//   - Each check is one task: it asks getsendprogress through the limiter
//     (action work_notice.progress) and, when not done, records the progress
//     and schedules the next check (id "<send id>:track:<n>", twice as late,
//     capped). The hash's poll field names the one check that may act, so a
//     check retried after a crash never starts a second chain.
//   - When done it fetches getsendresult (action work_notice.result) and
//     stores the lists: tracking is over. A permanent error or the end of
//     the window (24 h after the send) ends it too, as gave_up with the
//     reason. Transient and rate-limited answers schedule the next check.
//
// Producer.Status merges the hash into the send job's Status.Tracking.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/dingtalk"
	"github.com/herald-dispatch/herald/tasks"
)

// dingTalkTrackType is the internal task that checks a send's progress.
// Producers never enqueue it.
const dingTalkTrackType = "dingtalk:work_notice.track"

// trackPayload is a check's payload.
type trackPayload struct {
	Send      string `json:"send"`       // the send's task id
	EnqueueID string `json:"enqueue_id"` // the send's HeaderEnqueueID
	TaskID    int64  `json:"task_id"`    // DingTalk's
	N         int    `json:"n"`          // 1 for the first check
}

// dingTalkSender is the Sender of a DingTalk account: the client, plus
// what Herald does around it — starting the tracking of a send, and finding
// the task id of a status bar or recall job that names its send job.
type dingTalkSender struct {
	client *dingtalk.Client
	rdb    redis.UniversalClient
	queue  *asynq.Client
	insp   *asynq.Inspector
	shards int // the worker's shards: which queue a task id picks
	pace   DingTalkTracking
	keep   time.Duration // the tracking hash's life
}

func (s *dingTalkSender) Send(ctx context.Context, job tasks.Job) (any, error) {
	info := taskInfoFrom(ctx)
	switch j := job.(type) {
	case *tasks.DingTalkSend:
		return s.send(ctx, info, j)
	case *tasks.DingTalkStatusBar:
		if j.SendJob != "" {
			id, err := s.resolve(ctx, j.SendJob)
			if err != nil {
				return nil, err
			}
			c := *j
			c.TaskID, c.SendJob = id, ""
			job = &c
		}
	case *tasks.DingTalkRecall:
		if j.SendJob != "" {
			id, err := s.resolve(ctx, j.SendJob)
			if err != nil {
				return nil, err
			}
			c := *j
			c.MsgTaskID, c.SendJob = id, ""
			job = &c
		}
	}
	res, err := s.client.Send(ctx, job)
	return res, busy(info, err)
}

// busy ends the retries of a call DingTalk keeps answering −1 (system
// busy): its docs allow dingtalk.MaxBusyTries tries in all.
func busy(info *taskInfo, err error) error {
	var pe *providers.Error
	if errors.As(err, &pe) && pe.Code == dingtalk.CodeBusy && info.attempt+1 >= dingtalk.MaxBusyTries {
		pe.Class = providers.Permanent
		pe.Message += fmt.Sprintf(" (system busy on %d tries; DingTalk allows %d)", info.attempt+1, dingtalk.MaxBusyTries)
	}
	return err
}

func (s *dingTalkSender) send(ctx context.Context, info *taskInfo, job *tasks.DingTalkSend) (any, error) {
	key := tasks.TrackingKey(info.id)
	h, err := s.rdb.HMGet(ctx, key, tasks.TrackFieldEnqueueID, tasks.TrackFieldTaskID).Result()
	if err != nil {
		return nil, fmt.Errorf("read tracking: %w", err)
	}
	if eid, _ := h[0].(string); eid == info.enqueueID {
		if v, _ := h[1].(string); v != "" {
			// Sent before a crash: never twice. Make sure it is followed.
			id, _ := strconv.ParseInt(v, 10, 64)
			info.log.Info().Int64("dingtalk_task_id", id).Msg("already sent before a retry; not sending again")
			if err := s.resume(ctx, info); err != nil {
				info.log.Error().Err(err).Msg("could not schedule the tracking of a send")
			}
			return &dingtalk.SendResult{TaskID: id}, nil
		}
	}
	res, err := s.client.Send(ctx, job)
	if err != nil {
		return nil, busy(info, err)
	}
	sent := res.(*dingtalk.SendResult)
	// DingTalk has the notice: from here on failures are logged, never
	// returned, or a retry would send it again.
	if err := s.startTracking(context.WithoutCancel(ctx), info, sent.TaskID); err != nil {
		info.log.Error().Err(err).Int64("dingtalk_task_id", sent.TaskID).
			Msg("sent, but could not start tracking it; a retry could send twice")
	}
	return sent, nil
}

// startTracking records the task id and schedules the first check.
func (s *dingTalkSender) startTracking(ctx context.Context, info *taskInfo, taskID int64) error {
	key := tasks.TrackingKey(info.id)
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		p.HSet(ctx, key,
			tasks.TrackFieldEnqueueID, info.enqueueID,
			tasks.TrackFieldTaskID, taskID,
			tasks.TrackFieldState, tasks.TrackingActive,
			tasks.TrackFieldSentAt, now, tasks.TrackFieldUpdatedAt, now,
			tasks.TrackFieldPoll, 1, tasks.TrackFieldChecks, 0, tasks.TrackFieldProgress, 0)
		p.Expire(ctx, key, s.keep)
		return nil
	})
	if err != nil {
		return fmt.Errorf("record tracking: %w", err)
	}
	return s.schedule(ctx, info.account, trackPayload{Send: info.id, EnqueueID: info.enqueueID, TaskID: taskID, N: 1}, s.pace.Initial.D())
}

// resume schedules the check the hash says is next, if tracking goes on.
func (s *dingTalkSender) resume(ctx context.Context, info *taskInfo) error {
	h, err := s.rdb.HGetAll(ctx, tasks.TrackingKey(info.id)).Result()
	if err != nil {
		return err
	}
	if h[tasks.TrackFieldState] != tasks.TrackingActive {
		return nil
	}
	n, _ := strconv.Atoi(h[tasks.TrackFieldPoll])
	id, _ := strconv.ParseInt(h[tasks.TrackFieldTaskID], 10, 64)
	return s.schedule(ctx, info.account, trackPayload{Send: info.id, EnqueueID: info.enqueueID, TaskID: id, N: max(n, 1)}, s.pace.Initial.D())
}

// schedule enqueues check p.N to run after d. Its task id makes it
// idempotent: a check already waiting is left as it is.
func (s *dingTalkSender) schedule(ctx context.Context, account string, p trackPayload, d time.Duration) error {
	b, _ := json.Marshal(p) // plain fields always encode
	t := asynq.NewTaskWithHeaders(dingTalkTrackType, b, map[string]string{tasks.HeaderAccount: account})
	id := p.Send + ":track:" + strconv.Itoa(p.N)
	_, err := s.queue.EnqueueContext(ctx, t,
		asynq.Queue(tasks.DingTalk.QueueFor(id, s.shards)), asynq.TaskID(id),
		asynq.ProcessIn(d), asynq.MaxRetry(5), asynq.Timeout(time.Minute))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// backoff is the wait before check n+1: Initial doubled n-1 times, capped.
func (t DingTalkTracking) backoff(n int) time.Duration {
	d := t.Initial.D()
	for i := 1; i < n && d < t.Max.D(); i++ {
		d *= 2
	}
	return min(d, t.Max.D())
}

// resolve finds DingTalk's task id for Herald's send job id. A send still
// on its way (pending, scheduled, retrying or running) is waited for: the
// job fails as Transient and is retried with backoff. A send that failed,
// is unknown, or whose tracking has expired archives the job with why.
func (s *dingTalkSender) resolve(ctx context.Context, sendJob string) (int64, error) {
	const op = "resolve send_job"
	perm := func(msg string) error {
		return &providers.Error{Provider: dingtalk.Provider, Op: op, Class: providers.Permanent, Code: "no_task_id", Message: msg}
	}
	v, err := s.rdb.HGet(ctx, tasks.TrackingKey(sendJob), tasks.TrackFieldTaskID).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("read tracking of send job %q: %w", sendJob, err)
	}
	if id, _ := strconv.ParseInt(v, 10, 64); id > 0 {
		return id, nil
	}
	info, err := tasks.FindTask(ctx, s.insp, sendJob, s.shards, tasks.DingTalk)
	switch {
	case errors.Is(err, tasks.ErrNotFound):
		return 0, perm(fmt.Sprintf("send job %q not found (never enqueued, cancelled, or past its retention)", sendJob))
	case err != nil:
		return 0, fmt.Errorf("look up send job %q: %w", sendJob, err)
	case info.Type != tasks.TypeDingTalkSend:
		return 0, perm(fmt.Sprintf("job %q is a %s job, not %s", sendJob, info.Type, tasks.TypeDingTalkSend))
	case info.State == asynq.TaskStateArchived:
		return 0, perm(fmt.Sprintf("send job %q failed (archived: %s), so there is no DingTalk task id", sendJob, info.LastErr))
	case info.State == asynq.TaskStateCompleted:
		return 0, perm(fmt.Sprintf("send job %q completed but its tracking (the DingTalk task id) has expired", sendJob))
	}
	return 0, &providers.Error{Provider: dingtalk.Provider, Op: op, Class: providers.Transient, Code: "send_pending",
		Message: fmt.Sprintf("send job %q is %s: no DingTalk task id yet; waiting for it", sendJob, info.State)}
}

// dingTalkTracking routes the internal tracking checks to their handler
// and everything else to next.
func dingTalkTracking(d *dispatcher) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		if t.Type() != dingTalkTrackType {
			return d.ProcessTask(ctx, t)
		}
		return d.track(ctx, t)
	})
}

// track runs one check of a send's tracking.
func (d *dispatcher) track(ctx context.Context, t *asynq.Task) error {
	info := taskInfoFrom(ctx)
	var p trackPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.Send == "" || p.TaskID <= 0 || p.N < 1 {
		return permanent(fmt.Errorf("bad tracking payload %q", t.Payload()))
	}
	acct, ok := d.accounts.lookup(tasks.DingTalk, info.account)
	if !ok {
		return permanent(fmt.Errorf("no dingtalk account %q in the worker's config", info.account))
	}
	s, ok := acct.Sender.(*dingTalkSender)
	if !ok {
		return permanent(fmt.Errorf("dingtalk account %q cannot track sends", info.account))
	}
	key := tasks.TrackingKey(p.Send)
	h, err := d.records.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("read tracking: %w", err)
	}
	if h[tasks.TrackFieldEnqueueID] != p.EnqueueID || h[tasks.TrackFieldState] != tasks.TrackingActive {
		return nil // over, or superseded by a new send under the same id
	}
	if poll, _ := strconv.Atoi(h[tasks.TrackFieldPoll]); poll != p.N {
		if poll > p.N {
			// A retry of a check that already scheduled the next one
			// before a crash: make sure that one exists, and stop.
			next := p
			next.N = poll
			return s.schedule(ctx, info.account, next, s.pace.backoff(p.N))
		}
		return nil
	}
	checks, _ := strconv.Atoi(h[tasks.TrackFieldChecks])
	sentAt, _ := strconv.ParseInt(h[tasks.TrackFieldSentAt], 10, 64)
	if time.Since(time.UnixMilli(sentAt)) > s.pace.Window.D() {
		return d.trackEnd(ctx, key, tasks.TrackingGaveUp, map[string]any{
			tasks.TrackFieldReason: fmt.Sprintf("not done %s after the send; DingTalk answers for 24 h", s.pace.Window.D()),
		})
	}

	call := func(typ string, job tasks.Job) (any, error) {
		ci := *info
		ci.typ = typ
		ci.log = info.log.With().Str("job_type", typ).Logger()
		// Reads: harmless to repeat, so no delivery record.
		res, _, err := d.deliver(ctx, &ci, acct, job, "")
		return res, err
	}
	res, err := call(tasks.TypeDingTalkProgress, &tasks.DingTalkProgress{TaskID: p.TaskID})
	checks++
	if err != nil {
		return d.trackFailed(ctx, s, info, key, p, checks, err)
	}
	pr := res.(*dingtalk.Progress)
	fields := map[string]any{tasks.TrackFieldProgress: pr.Percent, tasks.TrackFieldStatus: pr.Status, tasks.TrackFieldChecks: checks}
	if !pr.Done() {
		return d.trackNext(ctx, s, info, key, p, fields, s.pace.backoff(p.N))
	}
	res, err = call(tasks.TypeDingTalkResult, &tasks.DingTalkResult{TaskID: p.TaskID})
	if err != nil {
		return d.trackFailed(ctx, s, info, key, p, checks, err)
	}
	b, _ := json.Marshal(emptyLists(res.(*dingtalk.Result).SendResult)) // lists of plain values always encode
	fields[tasks.TrackFieldResult] = string(b)
	fields[tasks.TrackFieldReason] = ""
	info.log.Info().Int64("dingtalk_task_id", p.TaskID).Int("checks", checks).Msg("send tracked to its result")
	return d.trackEnd(ctx, key, tasks.TrackingDone, fields)
}

// trackFailed handles a check whose call failed: a permanent error ends
// the tracking; anything else is noted and the next check scheduled.
func (d *dispatcher) trackFailed(ctx context.Context, s *dingTalkSender, info *taskInfo, key string, p trackPayload, checks int, err error) error {
	if providers.ClassOf(err) == providers.Permanent {
		return d.trackEnd(ctx, key, tasks.TrackingGaveUp, map[string]any{tasks.TrackFieldReason: err.Error(), tasks.TrackFieldChecks: checks})
	}
	info.log.Warn().Err(err).Int("check", p.N).Msg("tracking check failed; trying again later")
	wait := max(providers.RetryAfterOf(err), s.pace.backoff(p.N))
	return d.trackNext(ctx, s, info, key, p, map[string]any{tasks.TrackFieldReason: err.Error(), tasks.TrackFieldChecks: checks}, wait)
}

// trackNext records fields, hands the chain to check n+1 and schedules it.
func (d *dispatcher) trackNext(ctx context.Context, s *dingTalkSender, info *taskInfo, key string, p trackPayload, fields map[string]any, wait time.Duration) error {
	fields[tasks.TrackFieldPoll] = p.N + 1
	fields[tasks.TrackFieldUpdatedAt] = time.Now().UnixMilli()
	if err := d.records.rdb.HSet(ctx, key, fields).Err(); err != nil {
		return fmt.Errorf("record tracking: %w", err)
	}
	next := p
	next.N++
	return s.schedule(ctx, info.account, next, wait)
}

// trackEnd records the final state.
func (d *dispatcher) trackEnd(ctx context.Context, key, state string, fields map[string]any) error {
	fields[tasks.TrackFieldState] = state
	fields[tasks.TrackFieldUpdatedAt] = time.Now().UnixMilli()
	if state == tasks.TrackingDone {
		fields[tasks.TrackFieldProgress] = 100
	}
	return d.records.rdb.HSet(ctx, key, fields).Err()
}

// emptyLists makes a list DingTalk left out an empty one, so Status shows
// [] rather than null: "nobody", not "unknown".
func emptyLists(r tasks.DingTalkSendResult) tasks.DingTalkSendResult {
	for _, l := range []*[]string{&r.InvalidUserIDList, &r.ForbiddenUserIDList, &r.FailedUserIDList, &r.ReadUserIDList, &r.UnreadUserIDList} {
		if *l == nil {
			*l = []string{}
		}
	}
	if r.InvalidDeptIDList == nil {
		r.InvalidDeptIDList = []int64{}
	}
	if r.ForbiddenList == nil {
		r.ForbiddenList = []tasks.DingTalkForbidden{}
	}
	return r
}
