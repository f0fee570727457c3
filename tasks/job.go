// Package tasks is the contract between Herald's producers and its workers:
// the job types, their payloads, the rules every field must follow, and the
// Producer that validates jobs and enqueues them into Redis.
//
// A job is a typed value, one per provider call:
//
//	job := &tasks.EasemobPushSingle{
//		Targets:     []string{"u1", "u2"},
//		PushMessage: tasks.PushMessage{Title: "Hello", Content: "Your parcel has shipped"},
//	}
//	receipt, err := producer.Enqueue(ctx, job, tasks.Account("shop"))
//
// Payload structs keep the providers' own JSON field names, so the payload a
// worker receives (and an operator sees in asynqmon) is the body the provider
// documents. Credentials never appear in a payload: a job names an account,
// and the worker's config holds that account's secrets.
//
// This package imports no provider code; providers import it.
package tasks

import (
	"fmt"
	"time"
)

// Provider names a notification provider. It is also the name of the asynq
// queue that carries the provider's jobs, so a slow or throttled provider
// does not hold up the others.
type Provider string

// The providers Herald delivers to.
const (
	Feishu   Provider = "feishu"
	Easemob  Provider = "easemob"
	DingTalk Provider = "dingtalk"
	EnOS     Provider = "enos"
)

// Providers lists every provider, in a stable order.
func Providers() []Provider { return []Provider{Feishu, Easemob, DingTalk, EnOS} }

// Queue is the asynq queue name for the provider's jobs.
func (p Provider) Queue() string { return string(p) }

// Job types, named "<provider>:<action>". They are the asynq task types.
const (
	TypeFeishuExecuteSend = "feishu:execute_send"

	TypeEasemobPushSync   = "easemob:push.sync"
	TypeEasemobPushAsync  = "easemob:push.async"
	TypeEasemobPushSingle = "easemob:push.single"
	TypeEasemobPushLabel  = "easemob:push.label"
	TypeEasemobPushTask   = "easemob:push.task"

	TypeDingTalkSend      = "dingtalk:work_notice.send"
	TypeDingTalkProgress  = "dingtalk:work_notice.progress"
	TypeDingTalkResult    = "dingtalk:work_notice.result"
	TypeDingTalkStatusBar = "dingtalk:work_notice.status_bar"
	TypeDingTalkRecall    = "dingtalk:work_notice.recall"

	TypeEnOSNoticeProduce = "enos:notice.produce"
)

// Task headers that travel beside the payload. They carry what the worker
// needs that is not part of the provider's request body.
const (
	// HeaderAccount names the worker-side account whose credentials and
	// limits the job uses. A task without it uses DefaultAccount; the
	// Producer leaves it out for that account.
	HeaderAccount = "herald-account"
	// HeaderNotBefore is the earliest delivery time, as Unix milliseconds.
	// asynq keeps due times in whole seconds; the worker waits out the rest
	// so a job is never delivered early.
	HeaderNotBefore = "herald-not-before"
	// HeaderEnqueueID is set on a task enqueued with an IdempotencyKey, new
	// on every enqueue. The key is the task id, and the worker keys its
	// delivery record by task id and this, so a key enqueued again after
	// asynq's retention has forgotten it is a new delivery, not one the
	// record says was already made. A task without a key has none: its id
	// is a new UUID, and its record is keyed by that alone.
	HeaderEnqueueID = "herald-enqueue-id"
)

// DefaultAccount is the account a job uses when none is named.
const DefaultAccount = "default"

// A Job is one provider call, ready to be validated and enqueued.
type Job interface {
	// Type is the job's task type, one of the Type constants.
	Type() string
	// Validate checks every field against the provider's documented rules
	// and returns a *ValidationError naming the first field that breaks one.
	Validate(env Env) error
}

// Env is what validation needs beyond the payload itself. The zero value
// validates against the current time in Easemob's default time zone.
type Env struct {
	// Now is the time rules such as "more than 1 h ahead" are measured
	// from. Zero means time.Now().
	Now time.Time
	// Zone is the provider server's time zone, in which Easemob reads
	// startDate. Nil means ChinaStandardTime().
	Zone *time.Location
}

// ChinaStandardTime is UTC+8 with no daylight saving, the zone Easemob's
// servers use unless an account's config says otherwise. A fixed zone needs
// no tz database on the host.
func ChinaStandardTime() *time.Location { return time.FixedZone("CST", 8*60*60) }

// ParseZone reads a provider time zone as account config writes it: a UTC
// offset such as "+08:00", or an IANA name such as "Asia/Shanghai" (which
// needs the host's tz database). "" is ChinaStandardTime. The worker's
// account config and the producer command both read zones with it.
func ParseZone(s string) (*time.Location, error) {
	if s == "" {
		return ChinaStandardTime(), nil
	}
	if t, err := time.Parse("-07:00", s); err == nil {
		_, off := t.Zone()
		return time.FixedZone(s, off), nil
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, fmt.Errorf("%q is neither an offset like +08:00 nor a known IANA zone", s)
	}
	return loc, nil
}

func (e Env) now() time.Time {
	if e.Now.IsZero() {
		return time.Now()
	}
	return e.Now
}

func (e Env) zone() *time.Location {
	if e.Zone == nil {
		return ChinaStandardTime()
	}
	return e.Zone
}

// ProviderOf returns the provider a task type belongs to.
func ProviderOf(taskType string) (Provider, bool) {
	for _, p := range Providers() {
		if len(taskType) > len(p) && taskType[:len(p)] == string(p) && taskType[len(p)] == ':' {
			return p, true
		}
	}
	return "", false
}
