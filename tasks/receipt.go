package tasks

import "time"

// A Receipt says what Enqueue put in Redis. A job the producer had to split
// (a recipient list longer than one provider call takes) yields one task per
// part, in the order of the job's list.
type Receipt struct {
	Tasks []TaskRef `json:"tasks"`
}

// TaskRef identifies one enqueued task. Its ID is what Status and Cancel
// take.
type TaskRef struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Queue string `json:"queue"`
	// ProcessAt is when the task becomes due: now for an immediate job, the
	// DeliverAt time for a scheduled one. For a duplicate it is the existing
	// task's, and zero if that task is running or done.
	ProcessAt time.Time `json:"process_at,omitzero"`
	// Duplicate reports that a task with the job's idempotency key was
	// already in Redis, so Enqueue added nothing and this is that task.
	Duplicate bool `json:"duplicate"`
}

// IDs returns the task ids, in order.
func (r *Receipt) IDs() []string {
	ids := make([]string, len(r.Tasks))
	for i, t := range r.Tasks {
		ids[i] = t.ID
	}
	return ids
}

// Duplicate reports whether every task was already there, that is, whether
// the whole job had been enqueued before under the same idempotency key.
func (r *Receipt) Duplicate() bool {
	for _, t := range r.Tasks {
		if !t.Duplicate {
			return false
		}
	}
	return len(r.Tasks) > 0
}
