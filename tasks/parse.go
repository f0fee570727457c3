package tasks

import (
	"encoding/json"
	"fmt"
)

// Parse decodes a task payload into the job its type names. Workers use it;
// a payload that does not decode is an error the worker archives.
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

func newJob(taskType string) (Job, error) {
	switch taskType {
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
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownType, taskType)
}
