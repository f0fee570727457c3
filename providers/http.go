package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxReplyBytes bounds what Do reads of a reply when the Request sets
// no limit: providers' replies are small, and a runaway body must not
// exhaust a worker's memory.
const DefaultMaxReplyBytes = 1 << 20

// NewHTTPClient returns the client a provider's calls go through: each call
// bounded by timeout (zero: none), and up to maxConns idle connections kept
// per host, so that maxConns calls at once (the worker's concurrency) reuse
// their connections instead of opening new ones. Go's default transport
// keeps only 2 idle per host, so a worker running 20 jobs at once against
// one provider opened a new TCP (and TLS) connection for most calls.
// maxConns < 1 keeps Go's default.
func NewHTTPClient(timeout time.Duration, maxConns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if maxConns > 0 {
		tr.MaxIdleConnsPerHost = maxConns
		tr.MaxIdleConns = max(tr.MaxIdleConns, maxConns)
	}
	return &http.Client{Timeout: timeout, Transport: tr}
}

// Request is one call to a provider, as Do makes it.
type Request struct {
	// Provider and Op name the call in errors: "feishu", "execute_send".
	Provider, Op string
	// Method is the HTTP method; empty means POST.
	Method string
	URL    string
	// Header is sent as is; set Content-Type and auth here.
	Header http.Header
	Body   []byte
	// MaxReplyBytes bounds the reply read; zero means
	// DefaultMaxReplyBytes.
	MaxReplyBytes int64
	// RequestIDHeaders are the reply headers that may carry the
	// provider's request id, first found wins (Feishu: X-Tt-Logid, then
	// X-Request-Id). Providers that put it in the body set Reply.RequestID
	// themselves after decoding.
	RequestIDHeaders []string
}

// Reply is a provider's answer, whatever its status.
type Reply struct {
	Provider, Op string
	Status       int
	Header       http.Header
	// Body is the reply, at most the Request's MaxReplyBytes of it.
	Body []byte
	// Truncated says the reply was longer than MaxReplyBytes.
	Truncated bool
	// RequestID is the provider's id for the call, for logs and errors.
	RequestID string
}

// Do makes exactly one HTTP call and reads its reply, bounded. A failure to
// get any reply (dial, TLS, timeout, reset) is a Transient *Error from
// TransportError; any status is a Reply, for the client to judge. The
// connection is drained a little and closed properly so it can be reused.
func Do(ctx context.Context, hc *http.Client, r Request) (*Reply, error) {
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.URL, body)
	if err != nil {
		return nil, &Error{Provider: r.Provider, Op: r.Op, Class: Permanent, Code: "request", Message: "build request", Err: err}
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, TransportError(r.Provider, r.Op, err)
	}
	defer func() {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
	}()
	limit := r.MaxReplyBytes
	if limit <= 0 {
		limit = DefaultMaxReplyBytes
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, TransportError(r.Provider, r.Op, err)
	}
	rep := &Reply{Provider: r.Provider, Op: r.Op, Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if int64(len(raw)) > limit {
		rep.Body, rep.Truncated = raw[:limit], true
	}
	rep.RequestID = RequestID(resp.Header, r.RequestIDHeaders...)
	return rep, nil
}

// DecodeJSON decodes the reply's body into v, numbers kept exact (ids and
// task ids beyond 2^53 survive in json.Number or string fields). A body
// that cannot be read is a Transient "bad_reply" *Error: the provider may
// have acted on the call, so retrying could duplicate it, but the
// delivered-marker is the worker's defence against that, not silence.
func (r *Reply) DecodeJSON(v any) error {
	if r.Truncated {
		return r.Error(Transient, "reply_too_large", "reply exceeds "+strconv.Itoa(len(r.Body))+" bytes")
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		e := r.Error(Transient, "bad_reply", "decode reply")
		e.Err = err
		return e
	}
	return nil
}

// Error builds the *Error for this reply: provider, op, status and request
// id filled in, and RetryAfter from a Retry-After header if the reply has
// one. An empty message becomes the status text.
func (r *Reply) Error(class Class, code, message string) *Error {
	if message == "" {
		message = http.StatusText(r.Status)
	}
	e := &Error{Provider: r.Provider, Op: r.Op, Class: class, Status: r.Status, Code: code, Message: message, RequestID: r.RequestID}
	if d, ok := ParseRetryAfter(r.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = d
	}
	return e
}

// RequestID returns the first non-empty header among names.
func RequestID(h http.Header, names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(h.Get(n)); v != "" {
			return v
		}
	}
	return ""
}

// ParseRetryAfter reads a Retry-After header: delay seconds or an HTTP
// date (a date in the past is no wait). It reports false for a missing or
// unreadable header.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// CheckBaseURL reports whether raw can be a provider's base URL: http or
// https with a host. Every client's Config.Validate uses it, so a typo in
// an account's base_url is caught at start rather than on the first call.
func CheckBaseURL(provider, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: config: BaseURL %q is not an http(s) URL", provider, raw)
	}
	return nil
}
