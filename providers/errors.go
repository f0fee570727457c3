// Package providers holds what every provider client shares: the classes a
// failed call falls into (Error, and Reply.Error to build one from an
// answer), the HTTP transport sized to the worker's concurrency
// (NewHTTPClient), one bounded call (Do, Reply.DecodeJSON), request-id
// extraction, and the Redis-backed token cache. Each provider has its own
// package below this one with its client and a simulator of its API.
//
// A client's Send makes exactly one HTTP call. Retrying is the worker's job,
// including the one retry after an Unauthorized answer: the client drops
// the token that call used (TokenCache.Drop) and returns the error, and the
// worker calls again through its limiter, so every call is counted.
//
// Provider packages never import asynq: they say what went wrong (an *Error
// with a Class) and the worker decides what that means for the task.
package providers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Class says what a failed provider call means for the job.
type Class int

const (
	// Transient failures (5xx, timeouts, connection errors) are retried
	// with exponential backoff, then archived. The zero value, so an
	// unclassified failure is retried rather than lost.
	Transient Class = iota
	// Permanent failures (validation, not found, permission, quota) will
	// fail the same way again: the job is archived with the provider's code
	// and message, without retrying.
	Permanent
	// Unauthorized means the token was rejected. The client has dropped
	// the token it used; the worker retries the call once, through its
	// limiter, and the client fetches a new token for it.
	Unauthorized
	// RateLimited means the provider (or Herald's own limiter) said "not
	// now". It is not a failure: the job is retried after RetryAfter without
	// using up a retry.
	RateLimited
	// Paused means the account cannot send until an operator acts (its
	// Feishu refresh token was refused and must be replaced). Like
	// RateLimited it is not a failure: the job waits, retried after
	// RetryAfter, without using up a retry, and nothing is archived.
	Paused
)

func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	case Unauthorized:
		return "unauthorized"
	case RateLimited:
		return "rate_limited"
	case Paused:
		return "paused"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Error is a failed provider call.
type Error struct {
	Provider string // "easemob"
	Op       string // the call, e.g. "push.single" or "token"
	Class    Class
	// Status is the HTTP status, or 0 when no response arrived.
	Status int
	// Code is the provider's error code as it sent it: "reach_limit",
	// "154004", "90018".
	Code      string
	Message   string
	RequestID string
	// RetryAfter is how long the provider asked us to wait, if it said.
	RetryAfter time.Duration
	// Err is the underlying cause for transport failures.
	Err error
}

func (e *Error) Error() string {
	s := e.Provider + " " + e.Op + ": " + e.Class.String()
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.RequestID != "" {
		s += " [request " + e.RequestID + "]"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// ClassOf returns the class of err. An *Error anywhere in the chain speaks
// for itself; anything else (a timeout, a refused connection, a cancelled
// context) is Transient.
func ClassOf(err error) Class {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Class
	}
	return Transient
}

// RetryAfterOf returns the wait an *Error in err's chain asked for, or 0.
func RetryAfterOf(err error) time.Duration {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.RetryAfter
	}
	return 0
}

// ClassOfStatus is the class for an HTTP status whose body carried no code
// the client knows: 401 is Unauthorized, 429 RateLimited, any other 4xx
// Permanent, and 5xx Transient.
func ClassOfStatus(status int) Class {
	switch {
	case status == 401:
		return Unauthorized
	case status == 429:
		return RateLimited
	case status >= 400 && status < 500:
		return Permanent
	}
	return Transient
}

// TransportError wraps a failure to get any response (dial, TLS, timeout,
// reset) as a Transient *Error.
func TransportError(provider, op string, err error) *Error {
	msg := "request failed"
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		msg = "timed out"
	}
	return &Error{Provider: provider, Op: op, Class: Transient, Message: msg, Err: err}
}
