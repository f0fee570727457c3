// Package httpapi lets services in any language enqueue, inspect and cancel
// Herald jobs over HTTP. It is a thin layer over package tasks: the job
// types, their validation, splitting, idempotency and the Producer are
// tasks', so a job accepted here is exactly the job the Go producer would
// accept, and a bad one is refused with the same field and rule.
//
//	POST   /v1/jobs                     enqueue a job; returns the receipt
//	GET    /v1/jobs/{id}                a task's status
//	DELETE /v1/jobs/{id}                cancel a task that has not run yet
//	GET    /v1/queues/{queue}/jobs      list a provider queue's tasks by state
//	GET    /v1/openapi.yaml             this API's OpenAPI 3 document
//
// Every route but the OpenAPI document needs a bearer token when tokens are
// configured. Errors are JSON:
//
//	{"error": {"code": "invalid_job", "field": "targets[3]", "rule": "empty user id", "message": "..."}}
//
// The worker binary serves the API on a listener of its own (the api
// section of its config); a program may also mount Handler anywhere.
package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/tasks"
)

// DefaultMaxBodyBytes bounds a request body when Options.MaxBodyBytes is
// zero.
const DefaultMaxBodyBytes = 1 << 20

// Options configure a Handler. The zero value serves without auth, with
// DefaultMaxBodyBytes and without logs: fine on a loopback address, and
// nowhere else (the worker refuses to listen beyond loopback without
// tokens).
type Options struct {
	// Tokens are the bearer tokens accepted. Empty means no auth.
	Tokens []string
	// MaxBodyBytes bounds a request body; larger ones get 413.
	MaxBodyBytes int64
	// Log receives one line per request: method, route, status, duration
	// and which token (by position) was used. Never a token or a body.
	Log zerolog.Logger
}

// Handler serves the API. Build it with New.
type Handler struct {
	producer *tasks.Producer
	insp     *asynq.Inspector
	auth     *bearer
	maxBody  int64
	log      zerolog.Logger
	mux      *http.ServeMux
}

// New returns the API over producer, which validates and enqueues, and rdb,
// the Redis the producer writes to, for listing queues. The caller owns
// both.
func New(producer *tasks.Producer, rdb redis.UniversalClient, opts Options) *Handler {
	h := &Handler{
		producer: producer,
		insp:     asynq.NewInspectorFromRedisClient(rdb),
		auth:     newBearer(opts.Tokens),
		maxBody:  opts.MaxBodyBytes,
		log:      opts.Log,
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	h.mux = h.routes()
	return h
}

// ServeHTTP logs the request and hands it to the route.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	who := &caller{token: -1}
	r = r.WithContext(context.WithValue(r.Context(), callerKey{}, who))
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	h.mux.ServeHTTP(rec, r)
	_, route := h.mux.Handler(r)
	ev := h.log.Info()
	if rec.status >= 500 {
		ev = h.log.Error()
	}
	ev.Str("method", r.Method).Str("route", route).Int("status", rec.status).
		Dur("took", time.Since(start)).Str("remote", r.RemoteAddr)
	if who.token >= 0 {
		ev.Int("token", who.token+1)
	}
	ev.Msg("api request")
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
