package easemobsim

import (
	"bytes"
	"io"
	"net/http"
	"time"
)

// FaultKind is what an injected fault does to a call.
type FaultKind int

const (
	// FaultLatency waits Delay, then answers the call normally.
	FaultLatency FaultKind = iota + 1
	// FaultStatus answers with Status, Body and Header instead of handling
	// the call. An empty Body gets the documented error body for the
	// status (401 auth_bad_access_token, 429 reach_limit, 403
	// LimitException, 5xx a server error).
	FaultStatus
	// FaultHang holds the call without answering until the client gives up
	// or the server closes: a timeout, from the client's side.
	FaultHang
	// FaultDrop closes the connection without answering.
	FaultDrop
)

// Fault is a failure to inject into upcoming calls.
type Fault struct {
	Kind FaultKind
	// Endpoint limits the fault to one endpoint; empty means any.
	Endpoint Endpoint
	// Count is how many calls the fault affects; zero means every call
	// until ClearFaults.
	Count int

	Delay  time.Duration // FaultLatency
	Status int           // FaultStatus
	Body   string        // FaultStatus: raw response body
	Header http.Header   // FaultStatus: extra headers, e.g. Retry-After
}

// Inject adds a fault. Faults apply in the order they were injected, one per
// call: a call takes the first fault that matches its endpoint and has calls
// left. Safe to call while the server is serving.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Faults returns the injected faults that still have calls left, with their
// remaining counts.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, len(s.faults))
	for i, f := range s.faults {
		out[i] = *f
	}
	return out
}

// takeFault returns the fault for the next call to ep, using up one of its
// calls, or nil.
func (s *Server) takeFault(ep Endpoint) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Endpoint != "" && f.Endpoint != ep {
			continue
		}
		taken := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &taken
	}
	return nil
}

// applyFault carries out f. It reports whether the call has been answered
// (or abandoned); after FaultLatency the call goes on normally.
func (c *call) applyFault(f *Fault) bool {
	abandoned := func() {
		c.s.record(Call{Endpoint: c.ep, Method: c.r.Method, Path: c.r.URL.Path, Status: 0, Error: "fault", At: c.s.now()})
	}
	if f.Kind == FaultLatency || f.Kind == FaultHang {
		c.buffer()
	}
	switch f.Kind {
	case FaultLatency:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
			return false
		case <-c.r.Context().Done():
		case <-c.s.done:
		}
		abandoned()
		return true
	case FaultStatus:
		status := f.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		for k, vs := range f.Header {
			for _, v := range vs {
				c.w.Header().Add(k, v)
			}
		}
		if f.Body == "" {
			c.fail(status, errorForStatus(status))
			return true
		}
		c.w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		c.w.WriteHeader(status)
		_, _ = c.w.Write([]byte(f.Body))
		c.s.record(Call{Endpoint: c.ep, Method: c.r.Method, Path: c.r.URL.Path, Status: status, Error: "fault", At: c.s.now()})
		return true
	case FaultHang:
		select {
		case <-c.r.Context().Done():
		case <-c.s.done:
		}
		abandoned()
		return true
	case FaultDrop:
		abandoned()
		if hj, ok := c.w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		// No hijacking (HTTP/2): abort the response instead.
		panic(http.ErrAbortHandler)
	}
	return false
}

// buffer reads the request body ahead into memory. net/http notices that a
// client has gone away (and cancels the request's context) only once the
// body has been read, so a held call must read it first.
func (c *call) buffer() {
	b, err := io.ReadAll(io.LimitReader(c.r.Body, int64(c.s.opts.MaxBodyBytes)+1))
	if err != nil {
		return
	}
	c.r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), c.r.Body))
}
