package simkit

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Config is what a simulator hands New.
type Config struct {
	// Route names the endpoint a request is for, "" for none. Faults and
	// limits are per endpoint, and calls are recorded with it. Nil puts
	// every request under "".
	Route func(r *http.Request) Endpoint
	// Handler answers API calls by the provider's rules. Nil answers 404.
	Handler http.Handler
	// FaultReply writes the provider's documented reply for an injected
	// status fault that carries no Body (401 with the provider's "token
	// invalid" body, 429 with its "too many requests" body, …), calling
	// Note with the code. Nil writes the status with an empty JSON object.
	FaultReply func(w http.ResponseWriter, r *http.Request, status int)
	// OnReset clears the simulator's own state (created tasks, messages
	// awaiting recall) when the Kit is Reset, locally or over HTTP.
	OnReset func()

	// Now is the clock for arrival times, token expiry and limit windows.
	// Nil means time.Now.
	Now func() time.Time
	// Limits are the initial sliding-window limits per endpoint.
	Limits map[Endpoint]Limit
	// MaxRecords bounds the calls and records kept (see Log). Zero means
	// DefaultMaxRecords.
	MaxRecords int
	// MintToken makes token values (see Tokens.Mint).
	MintToken func() string
}

// Kit is the machinery a simulator embeds; R is the simulator's record of
// an accepted notification. A Kit is an http.Handler: it serves the control
// endpoints under ControlPrefix and passes every other request, after
// faults, to Config.Handler. Its methods are safe for concurrent use.
type Kit[R any] struct {
	cfg     Config
	now     func() time.Time
	calls   Log[Call]
	records Log[R]
	faults  Faults
	limits  Windows
	tokens  Tokens
	control http.Handler

	closeOnce sync.Once
	done      chan struct{} // closed by Shutdown and Close: releases held calls
	mu        sync.Mutex
	hs        *http.Server
	url       string
}

// New returns a Kit for cfg.
func New[R any](cfg Config) *Kit[R] {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	k := &Kit[R]{cfg: cfg, now: now, done: make(chan struct{})}
	k.calls.Max, k.records.Max = cfg.MaxRecords, cfg.MaxRecords
	k.limits.Now = now
	for ep, l := range cfg.Limits {
		k.limits.Set(ep, l)
	}
	k.tokens.Now, k.tokens.Mint = now, cfg.MintToken
	k.control = k.controlHandler()
	return k
}

// Now is the Kit's clock.
func (k *Kit[R]) Now() time.Time { return k.now() }

// Record stores a notification the simulator accepted.
func (k *Kit[R]) Record(r R) { k.records.Add(r) }

// Records returns the accepted notifications, oldest first.
func (k *Kit[R]) Records() []R { return k.records.All() }

// Calls returns every call, accepted or not, in the order they were
// answered (sort by At for arrival order).
func (k *Kit[R]) Calls() []Call { return k.calls.All() }

// Inject adds a fault for upcoming calls (see Faults.Inject).
func (k *Kit[R]) Inject(f Fault) { k.faults.Inject(f) }

// ClearFaults removes every injected fault.
func (k *Kit[R]) ClearFaults() { k.faults.Clear() }

// Faults returns the faults that still have calls left.
func (k *Kit[R]) Faults() []Fault { return k.faults.List() }

// Allow admits one call to ep under its sliding-window limit, or refuses
// it; the simulator answers a refusal with the provider's "too many".
func (k *Kit[R]) Allow(ep Endpoint) bool { return k.limits.Allow(ep) }

// SetLimit changes ep's limit while serving.
func (k *Kit[R]) SetLimit(ep Endpoint, l Limit) { k.limits.Set(ep, l) }

// Limits returns the limits in force, by endpoint.
func (k *Kit[R]) Limits() map[Endpoint]Limit { return k.limits.Limits() }

// IssueToken issues a token for subject living ttl (<= 0: never expires).
func (k *Kit[R]) IssueToken(subject string, ttl time.Duration) (string, time.Time) {
	return k.tokens.Issue(subject, ttl)
}

// CheckToken says whether tok is valid now, and whose it is.
func (k *Kit[R]) CheckToken(tok string) (string, TokenState) { return k.tokens.Check(tok) }

// RevokeToken revokes one token, reporting whether it was known.
func (k *Kit[R]) RevokeToken(tok string) bool { return k.tokens.Revoke(tok) }

// RevokeTokens revokes every token issued so far, as if the app's tokens
// had been reset: the next call with one is refused.
func (k *Kit[R]) RevokeTokens() { k.tokens.RevokeAll() }

// TokensIssued is how many tokens were issued since New or Reset.
func (k *Kit[R]) TokensIssued() int { return k.tokens.Issued() }

// Reset forgets calls, records, faults, limit windows and the count of
// tokens issued, then runs Config.OnReset. Issued tokens stay valid and
// limits stay set.
func (k *Kit[R]) Reset() {
	k.calls.Reset()
	k.records.Reset()
	k.faults.Clear()
	k.limits.Reset()
	k.tokens.ResetIssued()
	if k.cfg.OnReset != nil {
		k.cfg.OnReset()
	}
}

// Done is closed when the server shuts down. A handler that waits on
// something (a simulated slow provider) should also give up on it.
func (k *Kit[R]) Done() <-chan struct{} { return k.done }

type noteKey struct{}

// note is where Note leaves a call's error code for the Kit to record.
type note struct {
	mu   sync.Mutex
	code string
}

// Note records code as the provider error code r was answered with, for
// Calls. Call it wherever the simulator writes an error reply; a request
// not served by a Kit ignores it.
func Note(r *http.Request, code string) {
	if n, ok := r.Context().Value(noteKey{}).(*note); ok {
		n.mu.Lock()
		n.code = code
		n.mu.Unlock()
	}
}

// ServeHTTP serves the control endpoints under ControlPrefix and hands
// every other request, after its fault if one applies, to the simulator.
func (k *Kit[R]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, ControlPrefix) {
		k.control.ServeHTTP(w, r)
		return
	}
	c := Call{Method: r.Method, Path: r.URL.Path, At: k.now()}
	if k.cfg.Route != nil {
		c.Endpoint = k.cfg.Route(r)
	}
	n := &note{}
	r = r.WithContext(context.WithValue(r.Context(), noteKey{}, n))
	defer func() {
		n.mu.Lock()
		c.Error = n.code
		n.mu.Unlock()
		k.calls.Add(c)
	}()

	f, faulted := k.faults.Take(c.Endpoint)
	if faulted {
		c.Fault = f.Kind
	}
	rw := &statusWriter{ResponseWriter: w}
	switch {
	case !faulted:
	case f.Kind == FaultLatency:
		buffer(r)
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-k.done:
			return
		}
	case f.Kind == FaultStatus:
		k.faultReply(rw, r, f)
		c.Status = rw.status
		return
	case f.Kind == FaultHang:
		buffer(r)
		select {
		case <-r.Context().Done():
		case <-k.done:
		}
		return
	case f.Kind == FaultDrop:
		drop(w)
		return
	case f.Kind == FaultDropAfter:
		discard := &statusWriter{ResponseWriter: &discardWriter{header: http.Header{}}}
		k.handle(discard, r)
		drop(w)
		return
	}
	k.handle(rw, r)
	c.Status = rw.status
	if c.Status == 0 {
		c.Status = http.StatusOK // net/http's answer to a handler that wrote nothing
	}
}

func (k *Kit[R]) handle(w http.ResponseWriter, r *http.Request) {
	if k.cfg.Handler == nil {
		http.NotFound(w, r)
		return
	}
	k.cfg.Handler.ServeHTTP(w, r)
}

func (k *Kit[R]) faultReply(w http.ResponseWriter, r *http.Request, f Fault) {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	for key, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(key, v)
		}
	}
	if f.Body == "" && k.cfg.FaultReply != nil {
		k.cfg.FaultReply(w, r, status)
		return
	}
	body := f.Body
	if body == "" {
		body = "{}"
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// drop closes the connection under w without a reply.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// No hijacking (HTTP/2): abort the response instead.
	panic(http.ErrAbortHandler)
}

// maxBuffer bounds what buffer reads ahead; simulators refuse far smaller
// bodies anyway.
const maxBuffer = 1 << 20

// buffer reads the request body ahead into memory. net/http notices that a
// client has gone away (and cancels the request's context) only once the
// body has been read, so a held call must read it first. The handler still
// reads the whole body afterwards.
func buffer(r *http.Request) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBuffer))
	if err != nil {
		return
	}
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), r.Body))
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// discardWriter takes a reply that will never be sent.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
