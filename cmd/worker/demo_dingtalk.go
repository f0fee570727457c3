package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/herald-dispatch/herald/tasks"
)

// demoDingTalk sends a work notice, waits for Herald to track it to its
// result and shows the lists, then updates its status bar and recalls it,
// both by the send's job id. It returns the job ids for the final table.
func demoDingTalk(ctx context.Context, p *tasks.Producer, out io.Writer) ([]string, error) {
	msg := tasks.DingTalkMsg{MsgType: "oa", OA: json.RawMessage(
		`{"message_url":"https://example.com/leave/42","head":{"bgcolor":"FFBBBBBB","text":"Leave"},"body":{"title":"Leave request approved"}}`)}
	r, err := p.Enqueue(ctx, &tasks.DingTalkSend{UseridList: "manager7675,emp001", Msg: msg})
	if err != nil {
		return nil, fmt.Errorf("dingtalk send: %w", err)
	}
	send := r.IDs()[0]
	fmt.Fprintf(out, "enqueued %-40s -> 1 task(s) %s\n", "dingtalk work_notice.send to 2 users", send)
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		st, err := p.Status(ctx, send)
		if err != nil {
			return nil, err
		}
		if tr := st.Tracking; tr != nil && tr.State != tasks.TrackingActive {
			if tr.Result == nil {
				return nil, errors.New("dingtalk demo: tracking ended without a result: " + tr.Reason)
			}
			fmt.Fprintf(out, "  tracked DingTalk task %d: %s after %d progress checks, %d%%; read %v, unread %v, forbidden %v, invalid %v\n",
				tr.TaskID, tr.State, tr.Checks, tr.Progress, tr.Result.ReadUserIDList, tr.Result.UnreadUserIDList,
				tr.Result.ForbiddenUserIDList, tr.Result.InvalidUserIDList)
			break
		}
		select {
		case <-ctx.Done():
			return nil, errors.New("dingtalk demo: send not tracked to its result in time")
		case <-time.After(200 * time.Millisecond):
		}
	}
	ids := []string{send}
	for _, j := range []struct {
		what string
		job  tasks.Job
	}{
		{"dingtalk status_bar by send job id", &tasks.DingTalkStatusBar{SendJob: send, StatusValue: "Approved", StatusBg: "0xFF78C06E"}},
		{"dingtalk recall by send job id", &tasks.DingTalkRecall{SendJob: send}},
	} {
		r, err := p.Enqueue(ctx, j.job)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", j.what, err)
		}
		fmt.Fprintf(out, "enqueued %-40s -> 1 task(s) %s\n", j.what, r.IDs()[0])
		ids = append(ids, r.IDs()...)
	}
	return ids, nil
}
