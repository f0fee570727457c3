package tasks

import (
	"strings"
	"testing"

	"github.com/hibiken/asynq"
)

// A completed task shows the error of an earlier attempt (a "limit
// reached" reschedule, say) as history, not as its last error.
func TestStatusOfEarlierError(t *testing.T) {
	tests := []struct {
		state            asynq.TaskState
		lastErr, earlier string
	}{
		{asynq.TaskStateCompleted, "", "limit reached"},
		{asynq.TaskStateRetry, "limit reached", ""},
		{asynq.TaskStateArchived, "limit reached", ""},
		{asynq.TaskStateActive, "limit reached", ""},
	}
	for _, tt := range tests {
		t.Run(tt.state.String(), func(t *testing.T) {
			st := statusOf(&asynq.TaskInfo{ID: "x", Queue: "easemob", State: tt.state, LastErr: "limit reached"})
			if st.LastError != tt.lastErr || st.EarlierError != tt.earlier {
				t.Errorf("LastError %q, EarlierError %q; want %q, %q", st.LastError, st.EarlierError, tt.lastErr, tt.earlier)
			}
		})
	}
}

func TestStatusOfNote(t *testing.T) {
	for _, q := range Providers() {
		if st := statusOf(&asynq.TaskInfo{Queue: q.Queue(), Type: TypeEasemobPushSync, State: asynq.TaskStatePending}); st.Note != "" {
			t.Errorf("queue %s: Note = %q, want none", q, st.Note)
		}
	}
	st := statusOf(&asynq.TaskInfo{Queue: "default", Type: TypeEasemobPushSync, State: asynq.TaskStatePending})
	if !strings.Contains(st.Note, `no Herald worker serves queue "default"`) || !strings.Contains(st.Note, `queue "easemob"`) {
		t.Errorf("Note = %q", st.Note)
	}
}
