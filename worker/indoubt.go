package worker

import (
	"fmt"
	"slices"

	"github.com/herald-dispatch/herald/tasks"
)

// InDoubtPolicy says what a job does when it finds an earlier call of its
// own that never got a reply (a timeout, a dropped connection, a worker
// killed mid-call, Redis gone when the delivered-marker was due): the
// provider may or may not have acted on it.
type InDoubtPolicy string

const (
	// Resend calls the provider again. Right where a second call cannot
	// reach a person twice.
	Resend InDoubtPolicy = "resend"
	// Hold archives the job as in doubt, with when and where the earlier
	// call started. An operator who knows it did not arrive runs the task
	// again (asynqmon "run", or the producer's retry) and it is sent; one
	// who knows it did deletes it.
	Hold InDoubtPolicy = "hold"
)

// DefaultInDoubt is the policy for a job type unless config's in_doubt
// names another. Resend only where the provider makes a repeat harmless:
//
//   - enos:notice.produce: a messageId already in the OU is not pushed
//     again to users who received it, so a resend is harmless.
//   - dingtalk:work_notice.progress and .result read the state of a send;
//     .status_bar sets a status to a value (twice is the same value); a
//     second .recall of a recalled message recalls nothing. All harmless.
//   - dingtalk:work_notice.send (asyncsend_v2) has no idempotency key: a
//     second call is a second message (at best DingTalk's 143106 "duplicate
//     content" drops it for some users, which Herald cannot rely on). Hold.
//   - every easemob push creates a new push (or push task) on each call,
//     with no key to recognise a repeat. Hold.
//   - feishu:execute_send runs a notification: whether a second execute of
//     the same notification_id is refused is not documented. Hold.
func DefaultInDoubt(typ string) InDoubtPolicy {
	switch typ {
	case tasks.TypeEnOSNoticeProduce,
		tasks.TypeDingTalkProgress, tasks.TypeDingTalkResult,
		tasks.TypeDingTalkStatusBar, tasks.TypeDingTalkRecall:
		return Resend
	}
	return Hold
}

// inDoubtPolicy is the policy in force for a job type.
func (c Config) inDoubtPolicy(typ string) InDoubtPolicy {
	if p, ok := c.InDoubt[typ]; ok {
		return p
	}
	return DefaultInDoubt(typ)
}

func checkInDoubt(typ string, p InDoubtPolicy) error {
	key := "in_doubt." + typ
	if !slices.Contains(tasks.Types(), typ) {
		return &ConfigError{Key: key, Rule: "not a job type (easemob:push.single, enos:notice.produce, ...)"}
	}
	if p != Resend && p != Hold {
		return &ConfigError{Key: key, Rule: fmt.Sprintf("policy %q must be resend or hold", p)}
	}
	return nil
}
