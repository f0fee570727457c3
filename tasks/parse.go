package tasks

import (
	"encoding/json"
	"fmt"
)

// Parse decodes a task payload into the job its type names. Workers use it;
// a payload that does not decode is an error the worker archives. Parse
// does not validate: the producer did, and the worker may validate again
// with its own Env (a startDate checked at enqueue can have left its window
// by the time a delayed task runs).
func Parse(taskType string, payload []byte) (Job, error) {
	job, err := newJob(taskType)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(payload, job); err != nil {
		return nil, fmt.Errorf("tasks: decode %s payload: %w", taskType, err)
	}
	return job, nil
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
