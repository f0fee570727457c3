package tasks

import (
	"fmt"
)

// Types lists every job type, grouped by provider in the order of
// Providers(). Tools use it to tell users what they can enqueue.
func Types() []string {
	return []string{
		TypeFeishuExecuteSend,
		TypeEasemobPushSync,
		TypeEasemobPushAsync,
		TypeEasemobPushSingle,
		TypeEasemobPushLabel,
		TypeEasemobPushTask,
		TypeDingTalkSend,
		TypeDingTalkProgress,
		TypeDingTalkResult,
		TypeDingTalkStatusBar,
		TypeDingTalkRecall,
		TypeEnOSNoticeProduce,
	}
}

// Parse decodes a payload into the job its type names. Producers use it for
// payloads a person wrote (a file, a command line, an HTTP request) and
// workers for the payloads they take from Redis, and both get the same
// strictness: a worker must never act on a payload the producer would have
// refused. A misspelled "start_date" that encoding/json would quietly skip
// would turn a scheduled all-users push into one sent at once.
//
// Parse rejects what encoding/json lets through: fields the job does not
// have (a typo such as "pushmesage", or "Title" for "title"), keys that
// appear twice in one object, strings that are not valid UTF-8, and data
// after the JSON object. Opaque JSON (Easemob's ext and vendor blocks,
// DingTalk's msg blocks) is kept as the text it was given, never decoded
// through float64, so a number such as 9007199254740993 survives.
//
// An unknown type is ErrUnknownType; any other problem is a
// *ValidationError whose Field is the JSON path of the offending field
// ("pushMessage.titel"), or "payload" when the document as a whole is
// wrong. Parse does not check the provider's rules: Validate (or
// Producer.Enqueue) does. A worker validates again with its account's Env,
// since a startDate checked at enqueue can have left its window by the time
// a delayed task runs.
func Parse(taskType string, payload []byte) (Job, error) {
	job, err := newJob(taskType)
	if err != nil {
		return nil, err
	}
	if quickDecode(payload, job) {
		return job, nil
	}
	job, _ = newJob(taskType) // the fast path may have half filled it
	if err := decodeStrict(taskType, payload, job); err != nil {
		return nil, err
	}
	return job, nil
}

// ParseStrict is Parse. It remains for callers written when Parse was the
// lenient decoder; there is only one decoder now.
func ParseStrict(taskType string, payload []byte) (Job, error) {
	return Parse(taskType, payload)
}

// newJob returns a zero job of the type, ready to decode into.
func newJob(taskType string) (Job, error) {
	switch taskType {
	case TypeFeishuExecuteSend:
		return &FeishuExecuteSend{}, nil
	case TypeEasemobPushSync:
		return &EasemobPushSync{}, nil
	case TypeEasemobPushAsync:
		return &EasemobPushAsync{}, nil
	case TypeEasemobPushSingle:
		return &EasemobPushSingle{}, nil
	case TypeEasemobPushLabel:
		return &EasemobPushLabel{}, nil
	case TypeEasemobPushTask:
		return &EasemobPushTask{}, nil
	case TypeDingTalkSend:
		return &DingTalkSend{}, nil
	case TypeDingTalkProgress:
		return &DingTalkProgress{}, nil
	case TypeDingTalkResult:
		return &DingTalkResult{}, nil
	case TypeDingTalkStatusBar:
		return &DingTalkStatusBar{}, nil
	case TypeDingTalkRecall:
		return &DingTalkRecall{}, nil
	case TypeEnOSNoticeProduce:
		return &EnOSNoticeProduce{}, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownType, taskType)
}
