package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/herald-dispatch/herald/tasks"
)

// jobRequest is the body of POST /v1/jobs. The job itself is Payload, the
// provider's own JSON, read by tasks.ParseStrict; the rest are the
// options the Go producer takes as tasks.Option values.
type jobRequest struct {
	Type      string
	Payload   json.RawMessage
	Account   *string
	DeliverAt *time.Time
	DeliverIn *time.Duration
	MaxRetry  *int
	Timeout   *time.Duration
}

// requestFields are the keys a job request may have, exactly: encoding/json
// would also take "Type" for "type", and quietly drop "deliver_on".
var requestFields = []string{"type", "payload", "account", "deliver_at", "deliver_in", "max_retry", "timeout"}

// receipt is tasks.Receipt with the whole-job Duplicate flag spelled out.
type receipt struct {
	Tasks     []tasks.TaskRef `json:"tasks"`
	Duplicate bool            `json:"duplicate"`
}

func newReceipt(r *tasks.Receipt) *receipt {
	out := &receipt{Tasks: slices.Clone(r.Tasks), Duplicate: r.Duplicate()}
	for i := range out.Tasks {
		out.Tasks[i].ProcessAt = utc(out.Tasks[i].ProcessAt)
	}
	return out
}

// createJob is POST /v1/jobs: validate, enqueue, answer with the receipt.
// 201 when anything was added, 200 when the Idempotency-Key named a job
// already there (nothing added).
func (h *Handler) createJob(w http.ResponseWriter, r *http.Request) {
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	req, aerr := decodeJobRequest(body)
	if aerr != nil {
		writeError(w, http.StatusBadRequest, aerr)
		return
	}
	job, err := tasks.ParseStrict(req.Type, req.Payload)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var opts []tasks.Option
	if req.Account != nil {
		opts = append(opts, tasks.Account(*req.Account))
	}
	if req.DeliverAt != nil {
		opts = append(opts, tasks.DeliverAt(*req.DeliverAt))
	}
	if req.DeliverIn != nil {
		opts = append(opts, tasks.DeliverIn(*req.DeliverIn))
	}
	if req.MaxRetry != nil {
		opts = append(opts, tasks.MaxRetry(*req.MaxRetry))
	}
	if req.Timeout != nil {
		opts = append(opts, tasks.Timeout(*req.Timeout))
	}
	if keys := r.Header.Values("Idempotency-Key"); len(keys) > 0 {
		if len(keys) > 1 {
			writeError(w, http.StatusBadRequest, &apiError{Code: codeInvalidRequest, Field: "Idempotency-Key", Rule: "at most one", Message: "Idempotency-Key: send at most one"})
			return
		}
		opts = append(opts, tasks.IdempotencyKey(keys[0]))
	}

	rcpt, err := h.producer.Enqueue(r.Context(), job, opts...)
	if err != nil {
		if rcpt != nil && len(rcpt.Tasks) > 0 {
			// A split job failed part-way: say what got in, so the
			// caller can retry with the same key for the rest.
			h.log.Error().Err(err).Msg("api: enqueue failed part-way")
			writeError(w, http.StatusServiceUnavailable, &apiError{Code: codeUnavailable, Receipt: newReceipt(rcpt),
				Message: "enqueued part of the job before Redis failed; retry with the same Idempotency-Key to add the rest"})
			return
		}
		h.fail(w, r, err)
		return
	}
	out := newReceipt(rcpt)
	status := http.StatusCreated
	if out.Duplicate {
		status = http.StatusOK
	}
	if len(out.Tasks) == 1 {
		w.Header().Set("Location", "/v1/jobs/"+url.PathEscape(out.Tasks[0].ID))
	}
	writeJSON(w, status, out)
}

// readBody reads a body of at most maxBody bytes, answering 413 itself when
// it is larger. The Content-Type is not checked: the body is read as JSON
// whatever it says, so `curl -d` (which sends a form type) works as is.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, &apiError{Code: codeTooLarge,
			Message: fmt.Sprintf("the body is over %d bytes; split the recipients over several jobs", tooBig.Limit)})
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, &apiError{Code: codeInvalidRequest, Message: "reading the body: " + err.Error()})
		return nil, false
	}
	return body, true
}

// decodeJobRequest reads the envelope strictly, naming the field at fault.
func decodeJobRequest(body []byte) (*jobRequest, *apiError) {
	bad := func(field, rule string) *apiError {
		msg := rule
		if field != "" {
			msg = field + ": " + rule
		}
		return &apiError{Code: codeInvalidRequest, Field: field, Rule: rule, Message: msg}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		var terr *json.UnmarshalTypeError
		if errors.As(err, &terr) || len(strings.TrimSpace(string(body))) == 0 {
			return nil, bad("", "the body must be a JSON object with type and payload")
		}
		return nil, bad("", "not valid JSON: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(requestFields, k) {
			return nil, bad(k, "unknown field (a job request has "+strings.Join(requestFields, ", ")+")")
		}
	}

	req := &jobRequest{}
	str := func(field string) (*string, *apiError) {
		v, ok := raw[field]
		if !ok || string(v) == "null" {
			return nil, nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, bad(field, "must be a string")
		}
		return &s, nil
	}
	duration := func(field, example string) (*time.Duration, *apiError) {
		s, aerr := str(field)
		if s == nil || aerr != nil {
			return nil, aerr
		}
		d, err := time.ParseDuration(*s)
		if err != nil {
			return nil, bad(field, "must be a duration such as "+example)
		}
		return &d, nil
	}
	var aerr *apiError
	t, aerr := str("type")
	if aerr != nil {
		return nil, aerr
	}
	if t == nil || *t == "" {
		return nil, bad("type", "required, e.g. "+tasks.TypeEasemobPushSingle)
	}
	req.Type = *t
	if p, ok := raw["payload"]; ok && string(p) != "null" {
		req.Payload = p
	} else {
		return nil, bad("payload", "required: the job's JSON object")
	}
	if req.Account, aerr = str("account"); aerr != nil {
		return nil, aerr
	}
	at, aerr := str("deliver_at")
	if aerr != nil {
		return nil, aerr
	}
	if at != nil {
		ts, err := time.Parse(time.RFC3339Nano, *at)
		if err != nil {
			return nil, bad("deliver_at", "must be an RFC 3339 time such as 2030-01-02T09:00:00+08:00")
		}
		req.DeliverAt = &ts
	}
	if req.DeliverIn, aerr = duration("deliver_in", "90s or 2h30m"); aerr != nil {
		return nil, aerr
	}
	if req.DeliverAt != nil && req.DeliverIn != nil {
		return nil, bad("deliver_in", "give deliver_at or deliver_in, not both")
	}
	if v, ok := raw["max_retry"]; ok && string(v) != "null" {
		var n int
		if err := json.Unmarshal(v, &n); err != nil {
			return nil, bad("max_retry", "must be a whole number")
		}
		req.MaxRetry = &n
	}
	if req.Timeout, aerr = duration("timeout", "30s or 5m"); aerr != nil {
		return nil, aerr
	}
	return req, nil
}

// getJob is GET /v1/jobs/{id}.
func (h *Handler) getJob(w http.ResponseWriter, r *http.Request) {
	st, err := h.producer.Status(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, utcStatus(st))
}

// cancelJob is DELETE /v1/jobs/{id}: 204 when the task will never run.
func (h *Handler) cancelJob(w http.ResponseWriter, r *http.Request) {
	if err := h.producer.Cancel(r.Context(), r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// utcStatus returns st with its times in UTC, so every time the API
// writes has the same offset whatever the worker's local zone.
func utcStatus(st *tasks.Status) *tasks.Status {
	c := *st
	c.LastFailedAt = utc(c.LastFailedAt)
	c.NextProcessAt = utc(c.NextProcessAt)
	c.NotBefore = utc(c.NotBefore)
	c.CompletedAt = utc(c.CompletedAt)
	return &c
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}
