package easemobsim

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

type taskKind int

const (
	allUsersTask taskKind = iota // push/task
	labelTask                    // push/list/label
)

// task is a push task the server created.
type task struct {
	id       int64
	kind     taskKind
	created  time.Time
	finishes time.Time // start (startDate or creation) + TaskDuration
}

// createTask applies the documented task caps and, if they allow, creates a
// task starting at start (zero: now) and returns its id.
//
// Seed 001: at most 3 tasks running at once; at most 3 tasks created per 5
// minutes, where an all-users task counts from creation even before it runs
// and a label/list task counts from creation and stops counting when it
// finishes.
func (s *Server) createTask(kind taskKind, start time.Time) (int64, bool) {
	now := s.now()
	if start.IsZero() {
		start = now
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	windowStart := now.Add(-s.opts.TaskWindow)
	inWindow, unfinished := 0, 0
	kept := s.tasks[:0]
	for _, t := range s.tasks {
		finished := !now.Before(t.finishes)
		recent := t.created.After(windowStart)
		if recent && !(t.kind == labelTask && finished) {
			inWindow++
		}
		if !finished {
			unfinished++
		}
		if recent || !finished {
			kept = append(kept, t)
		}
	}
	s.tasks = kept
	if inWindow >= s.opts.TasksPerWindow || unfinished >= s.opts.MaxRunningTasks {
		return 0, false
	}
	id := s.nextTaskID(now)
	s.tasks = append(s.tasks, task{id: id, kind: kind, created: now, finishes: start.Add(s.opts.TaskDuration)})
	return id, true
}

// nextTaskID returns a new task id, distinct from the last. Callers hold mu.
func (s *Server) nextTaskID(now time.Time) int64 {
	var id int64
	if s.opts.TaskID != nil {
		id = s.opts.TaskID()
	} else {
		// Milliseconds since 2020 above a 22-bit sequence: about 8e17 in
		// 2026, well past 2^53 like the ids in Easemob's examples, so a
		// client that decodes them as float64 loses digits.
		const epoch = 1577836800000 // 2020-01-01T00:00:00Z in ms
		id = (now.UnixMilli()-epoch)<<22 | int64(randomUint22())
		if id <= s.lastID {
			id = s.lastID + 1
		}
	}
	s.lastID = id
	return id
}

func randomUint22() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:]) & (1<<22 - 1)
}
