package httpapi

import (
	"net/http"
	"slices"
	"strconv"

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
// Producer.List reads the page, so a listed job looks exactly like GET
// /v1/jobs/{id} (the mapping from asynq lives once, in tasks), and the CLI's
// list shows the same.
func (h *Handler) listJobs(w http.ResponseWriter, r *http.Request) {
	bad := func(field, rule string) {
		writeError(w, http.StatusBadRequest, &apiError{Code: codeInvalidRequest, Field: field, Rule: rule, Message: field + ": " + rule})
	}
	queue := r.PathValue("queue")
	if _, known := tasks.ProviderOfQueue(queue); !known {
		writeError(w, http.StatusNotFound, &apiError{Code: codeNotFound, Field: "queue", Rule: "must be a provider (feishu, easemob, dingtalk or enos) or one of its shards (easemob.7)", Message: "no queue " + strconv.Quote(queue)})
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

	l, err := h.producer.List(r.Context(), queue, state, page, size)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := &jobList{Queue: l.Queue, State: l.State, Page: l.Page, Size: l.Size, Total: l.Total, Jobs: l.Tasks}
	writeJSON(w, http.StatusOK, out)
}
