package tasks

import (
	"errors"
	"strings"
)

// ValidationError reports a job field that breaks a provider's rule. It is
// returned at the call site, before anything reaches Redis.
//
//	var verr *tasks.ValidationError
//	if errors.As(err, &verr) {
//		log.Printf("bad %s: field %s: %s", verr.Job, verr.Field, verr.Rule)
//	}
type ValidationError struct {
	// Job is the job type, e.g. "easemob:push.single".
	Job string
	// Field is the JSON path of the offending field, e.g. "targets[3]" or
	// "pushMessage.title".
	Field string
	// Rule says what the field must be, e.g. "empty user id".
	Rule string
}

// Error reads "easemob push.single: targets[3]: empty user id".
func (e *ValidationError) Error() string {
	return strings.Replace(e.Job, ":", " ", 1) + ": " + e.Field + ": " + e.Rule
}

// ErrUnknownType is returned for a task type that is not one of the Type
// constants.
var ErrUnknownType = errors.New("tasks: unknown job type")
