package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/hibiken/asynq"

	"github.com/herald-dispatch/herald/tasks"
)

// listStates are the states a queue can be listed by.
var listStates = []string{"pending", "scheduled", "retry", "archived", "completed", "active"}

const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// jobList is the body of GET /v1/queues/{queue}/jobs.
type jobList struct {
	Queue string `json:"queue"`
	State string `json:"state"`
	Page  int    `json:"page"`
	Size  int    `json:"size"`
	// Total is how many tasks the queue holds in the state.
	Total int             `json:"total"`
	Jobs  []*tasks.Status `json:"jobs"`
}

// listJobs is GET /v1/queues/{queue}/jobs?state=&page=&size=.
//
// asynq lists the ids; each task is then read through Producer.Status, so
// a listed job looks exactly like GET /v1/jobs/{id} and the mapping from
// asynq lives once, in tasks. That costs a few Redis round trips per task,
// which a page of at most 100 affords.
func (h *Handler) listJobs(w http.ResponseWriter, r *http.Request) {
	bad := func(field, rule string) {
		writeError(w, http.StatusBadRequest, &apiError{Code: codeInvalidRequest, Field: field, Rule: rule, Message: field + ": " + rule})
	}
	queue := r.PathValue("queue")
	known := false
	for _, p := range tasks.Providers() {
		known = known || p.Queue() == queue
	}
	if !known {
		writeError(w, http.StatusNotFound, &apiError{Code: codeNotFound, Field: "queue", Rule: "must be a provider queue: feishu, easemob, dingtalk or enos", Message: "no queue " + strconv.Quote(queue)})
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "pending"
	}
	if !slices.Contains(listStates, state) {
		bad("state", "must be one of pending, scheduled, retry, archived, completed, active")
		return
	}
	page, size := 1, defaultPageSize
	for _, p := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"page", &page, 1, 1 << 30}, {"size", &size, 1, maxPageSize}} {
		s := q.Get(p.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < p.min || n > p.max {
			bad(p.name, "must be a whole number from "+strconv.Itoa(p.min)+" to "+strconv.Itoa(p.max))
			return
		}
		*p.dst = n
	}

	out := &jobList{Queue: queue, State: state, Page: page, Size: size, Jobs: []*tasks.Status{}}
	infos, err := h.list(queue, state, asynq.Page(page), asynq.PageSize(size))
	if errors.Is(err, asynq.ErrQueueNotFound) {
		writeJSON(w, http.StatusOK, out) // nobody has used the queue yet
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if qi, err := h.insp.GetQueueInfo(queue); err == nil {
		out.Total = map[string]int{
			"pending": qi.Pending, "scheduled": qi.Scheduled, "retry": qi.Retry,
			"archived": qi.Archived, "completed": qi.Completed, "active": qi.Active,
		}[state]
	}
	for _, info := range infos {
		st, err := h.producer.Status(r.Context(), info.ID)
		switch {
		case errors.Is(err, tasks.ErrNotFound):
			continue // gone since the listing: cancelled, or retention ran out
		case errors.Is(err, tasks.ErrAmbiguousID):
			// One key used in two queues: Status refuses to guess, but
			// the listing knows which queue it means.
			st = &tasks.Status{ID: info.ID, Type: info.Type, Queue: info.Queue, State: info.State.String()}
		case err != nil:
			h.fail(w, r, err)
			return
		}
		out.Jobs = append(out.Jobs, utcStatus(st))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) list(queue, state string, opts ...asynq.ListOption) ([]*asynq.TaskInfo, error) {
	switch state {
	case "scheduled":
		return h.insp.ListScheduledTasks(queue, opts...)
	case "retry":
		return h.insp.ListRetryTasks(queue, opts...)
	case "archived":
		return h.insp.ListArchivedTasks(queue, opts...)
	case "completed":
		return h.insp.ListCompletedTasks(queue, opts...)
	case "active":
		return h.insp.ListActiveTasks(queue, opts...)
	}
	return h.insp.ListPendingTasks(queue, opts...)
}
