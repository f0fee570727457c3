package easemobsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// apiError is Easemob's error body:
//
//	{"error":"auth_bad_access_token","exception":"…","timestamp":…,
//	 "duration":0,"error_description":"…"}
type apiError struct {
	Error       string `json:"error"`
	Exception   string `json:"exception,omitempty"`
	Timestamp   int64  `json:"timestamp"`
	Duration    int64  `json:"duration"`
	Description string `json:"error_description"`
}

// Exception class names. Easemob sends the throwing Java class; the docs
// name the short names of the push ones (LimitException, …) but not their
// packages, which are made up here [U].
const (
	excSecurity       = "org.apache.usergrid.rest.exceptions.SecurityException"
	excAppNotFound    = "org.apache.usergrid.rest.exceptions.OrganizationApplicationNotFoundException"
	excNotFound       = "org.apache.usergrid.rest.exceptions.NotFoundException"
	excJSONParse      = "com.fasterxml.jackson.core.JsonParseException"
	excRateLimit      = "com.easemob.common.exception.RateLimitException"
	excLimit          = "com.easemob.push.exception.LimitException"
	excServiceNotOpen = "com.easemob.push.exception.ServiceNotOpenException"
	excMessage        = "com.easemob.push.exception.MessageException"
	excIllegalArg     = "java.lang.IllegalArgumentException"
	excServer         = "java.lang.RuntimeException"
)

// The push API's own errors (seed 001, 常见错误码) carry the exception's
// short name as the error type and the documented hint as the description.

func errLimit() apiError {
	return apiError{Error: "LimitException", Exception: excLimit, Description: "limit request"}
}

func errServiceNotOpen() apiError {
	return apiError{Error: "ServiceNotOpenException", Exception: excServiceNotOpen, Description: "push service not open"}
}

func errMessage(why string) apiError {
	return apiError{Error: "MessageException", Exception: excMessage, Description: "bad_request: " + why}
}

func errIllegalArgument(why string) apiError {
	return apiError{Error: "IllegalArgumentException", Exception: excIllegalArg, Description: why}
}

func errURLInvalid() apiError {
	return apiError{Error: "service_resource_not_found", Exception: excNotFound, Description: "url is invalid"}
}

func errAppNotFound(org, app, path string) apiError {
	return apiError{
		Error: "organization_application_not_found", Exception: excAppNotFound,
		Description: fmt.Sprintf("Could not find application for %s/%s from URI: %s", org, app, path),
	}
}

func errReachLimit() apiError {
	return apiError{Error: "reach_limit", Exception: excRateLimit, Description: "This request has reached api limit"}
}

func errJSONParse(err error) apiError {
	return apiError{Error: "json_parse", Exception: excJSONParse, Description: "Unexpected content: " + err.Error()}
}

// errExpiredToken is the documented answer to a missing or expired token,
// errBadToken to one the server never issued.
func errExpiredToken() apiError {
	return apiError{Error: "unauthorized", Exception: excSecurity, Description: "Unable to authenticate due to expired access token"}
}

func errBadToken() apiError {
	return apiError{Error: "auth_bad_access_token", Exception: excSecurity, Description: "Unable to authenticate due to corrupt access token"}
}

// errorForStatus is the body an injected fault answers with when it names
// only a status.
func errorForStatus(status int) apiError {
	switch status {
	case http.StatusUnauthorized:
		return errBadToken()
	case http.StatusTooManyRequests:
		return errReachLimit()
	case http.StatusForbidden:
		return errLimit()
	case http.StatusNotFound:
		return errURLInvalid()
	}
	if status >= 500 {
		return apiError{Error: "server_error", Exception: excServer, Description: http.StatusText(status)}
	}
	return errIllegalArgument(http.StatusText(status))
}

// call is one request in flight: what it is and how to answer it.
type call struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	ep    Endpoint
	start time.Time
}

// fail answers with an error body and records the call.
func (c *call) fail(status int, e apiError) {
	e.Timestamp = c.s.now().UnixMilli()
	simkit.Note(c.r, e.Error)
	c.writeJSON(status, e)
}

// ok answers 200 with the {timestamp, data, duration} envelope.
func (c *call) ok(data any) {
	c.writeJSON(http.StatusOK, struct {
		Timestamp int64 `json:"timestamp"`
		Data      any   `json:"data"`
		Duration  int64 `json:"duration"`
	}{c.s.now().UnixMilli(), data, time.Since(c.start).Milliseconds()})
}

func (c *call) writeJSON(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"error":"server_error","error_description":"marshal"}`)
		status = http.StatusInternalServerError
	}
	c.w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	c.w.WriteHeader(status)
	_, _ = c.w.Write(b)
}

// readBody enforces the documented body rules: JSON content type, at most
// MaxBodyBytes. It answers the call itself when they are broken.
func (c *call) readBody() ([]byte, bool) {
	if mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		c.fail(http.StatusUnsupportedMediaType, apiError{
			Error: "unsupported_media_type", Exception: "javax.ws.rs.NotSupportedException",
			Description: "HTTP 415 Unsupported Media Type",
		})
		return nil, false
	}
	max := int64(c.s.opts.MaxBodyBytes)
	tooLarge := func() ([]byte, bool) {
		c.fail(http.StatusRequestEntityTooLarge, apiError{
			Error: "request_entity_too_large", Description: "Request Entity Too Large",
		})
		return nil, false
	}
	if c.r.ContentLength > max {
		return tooLarge()
	}
	b, err := io.ReadAll(io.LimitReader(c.r.Body, max+1))
	if err != nil {
		c.fail(http.StatusBadRequest, errJSONParse(err))
		return nil, false
	}
	if int64(len(b)) > max {
		return tooLarge()
	}
	return b, true
}

// decodeObject parses body as one JSON object, numbers kept exact.
func decodeObject(body []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("body is null")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the JSON object")
	}
	return m, nil
}
