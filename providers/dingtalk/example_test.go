package dingtalk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/dingtalk"
	"github.com/herald-dispatch/herald/providers/dingtalk/dingtalksim"
	"github.com/herald-dispatch/herald/tasks"
)

// A work notice, against the simulator. The send only creates a DingTalk
// task: who got the notice, and who was filtered out by DingTalk's quotas,
// is read afterwards from the task's result (for 24 h).
func Example() {
	sim := dingtalksim.New(dingtalksim.Options{
		UnknownUsers: []string{"ghost"},
		ReadUsers:    []string{"alice"},
	})
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer sim.Close()

	c := dingtalk.New(dingtalk.Config{
		BaseURL: url, AppKey: dingtalksim.DefaultAppKey, AppSecret: dingtalksim.DefaultAppSecret,
		AgentID: dingtalksim.DefaultAgentID,
		// Tokens: providers.NewTokenCache(rdb) to share the app's token
		// with every replica; nil keeps it in this process.
	})
	ctx := context.Background()
	notice := &tasks.DingTalkSend{
		UseridList: "alice,bob,ghost", // at most 100 ids a call
		Msg:        tasks.DingTalkMsg{MsgType: "text", Text: json.RawMessage(`{"content":"Build 42 is green"}`)},
	}
	first, err := c.SendNotice(ctx, notice)
	if err != nil {
		panic(err)
	}
	res, err := c.GetResult(ctx, first.TaskID)
	if err != nil {
		panic(err)
	}
	r := res.SendResult
	fmt.Println("read:", r.ReadUserIDList, "unread:", r.UnreadUserIDList, "invalid:", r.InvalidUserIDList)

	// The same content to the same user twice in a day is still a
	// success, but DingTalk drops it: only the result says so.
	again, err := c.SendNotice(ctx, &tasks.DingTalkSend{UseridList: "bob", Msg: notice.Msg})
	if err != nil {
		panic(err)
	}
	res, _ = c.GetResult(ctx, again.TaskID)
	for _, f := range res.SendResult.ForbiddenList {
		fmt.Println("forbidden:", f.UserID, f.Code)
	}

	// A notice can be recalled within 24 h.
	if _, err := c.Recall(ctx, &tasks.DingTalkRecall{MsgTaskID: first.TaskID}); err != nil {
		panic(err)
	}
	got := sim.Received()
	fmt.Println(got[len(got)-1].Endpoint, "of the first task:", got[len(got)-1].TaskID == first.TaskID)
	// Output:
	// read: [alice] unread: [bob] invalid: [ghost]
	// forbidden: bob 143106
	// recall of the first task: true
}

// DingTalk answers errors with HTTP 200 and an errcode; the client maps
// each to a class that tells the worker what to do next.
func Example_errors() {
	sim := dingtalksim.New(dingtalksim.Options{QPS: 1}) // DingTalk allows 20 calls/s per API
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	// Two agents of one app share its token: one cache, keyed by app.
	tokens := providers.NewTokenCache(nil)
	cfg := dingtalk.Config{
		BaseURL: url, AppKey: dingtalksim.DefaultAppKey, AppSecret: dingtalksim.DefaultAppSecret,
		AgentID: dingtalksim.DefaultAgentID, Tokens: tokens,
	}
	c := dingtalk.New(cfg)
	msg := tasks.DingTalkMsg{MsgType: "text", Text: json.RawMessage(`{"content":"hi"}`)}
	var last error
	for range 2 {
		_, last = c.SendNotice(context.Background(), &tasks.DingTalkSend{UseridList: "alice", Msg: msg})
	}
	var pe *providers.Error
	if errors.As(last, &pe) {
		fmt.Println(pe.Class, "errcode", pe.Code)
	}

	// An agent_id not the app's is refused for good: retrying cannot help.
	cfg.AgentID = 7
	_, err = dingtalk.New(cfg).GetProgress(context.Background(), 1)
	if errors.As(err, &pe) {
		fmt.Println(pe.Class, "errcode", pe.Code)
	}
	// Output:
	// rate_limited errcode 90018
	// permanent errcode 40056
}
