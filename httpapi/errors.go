package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/herald-dispatch/herald/tasks"
)

// apiError is the body of every error response:
//
//	{"error": {"code": "invalid_job", "field": "targets[3]", "rule": "empty user id", "message": "..."}}
//
// Code is stable and meant for programs; Field and Rule say what to fix
// when one field is at fault; Message is for people.
type apiError struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message"`
	// Receipt is what did get enqueued when a split job failed part-way.
	Receipt *receipt `json:"receipt,omitempty"`
}

// Error codes. The OpenAPI document lists them; a test keeps both in step.
const (
	codeInvalidJob     = "invalid_job"     // the payload breaks a provider rule or does not parse
	codeInvalidRequest = "invalid_request" // the request around the payload is wrong
	codeUnknownType    = "unknown_type"    // no such job type
	codeUnauthorized   = "unauthorized"    // no or wrong bearer token
	codeNotFound       = "not_found"       // no such task or route
	codeNotCancellable = "not_cancellable" // the task is running or done
	codeAmbiguousID    = "ambiguous_id"    // the id is in two provider queues
	codeKeyReused      = "key_reused"      // the idempotency key holds another job
	codeTooLarge       = "too_large"       // the body is over the limit
	codeMethod         = "method_not_allowed"
	codeUnavailable    = "unavailable" // Redis failed
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, e *apiError) {
	writeJSON(w, status, struct {
		Error *apiError `json:"error"`
	}{e})
}

// fail answers with what err means in this API. Errors from tasks map to
// 4xx with the field and rule they name; anything else is Redis failing,
// which is logged by the caller and answered without its details (an
// address or a command line is no business of an API client).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		verr *tasks.ValidationError
		oerr *tasks.OptionError
	)
	switch {
	case errors.As(err, &verr):
		writeError(w, http.StatusBadRequest, &apiError{Code: codeInvalidJob, Field: verr.Field, Rule: verr.Rule, Message: verr.Error()})
	case errors.As(err, &oerr):
		field := optionField(oerr.Option)
		writeError(w, http.StatusBadRequest, &apiError{Code: codeInvalidRequest, Field: field, Rule: oerr.Rule, Message: field + ": " + oerr.Rule})
	case errors.Is(err, tasks.ErrUnknownType):
		writeError(w, http.StatusBadRequest, &apiError{Code: codeUnknownType, Field: "type", Rule: "must be a Herald job type", Message: err.Error()})
	case errors.Is(err, tasks.ErrNotFound):
		writeError(w, http.StatusNotFound, &apiError{Code: codeNotFound, Message: err.Error()})
	case errors.Is(err, tasks.ErrNotCancellable):
		writeError(w, http.StatusConflict, &apiError{Code: codeNotCancellable, Message: err.Error()})
	case errors.Is(err, tasks.ErrAmbiguousID):
		writeError(w, http.StatusConflict, &apiError{Code: codeAmbiguousID, Message: err.Error()})
	case errors.Is(err, tasks.ErrKeyReused):
		writeError(w, http.StatusConflict, &apiError{Code: codeKeyReused, Field: "Idempotency-Key", Rule: "already used for a different job", Message: err.Error()})
	default:
		h.log.Error().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Msg("api: redis")
		writeError(w, http.StatusServiceUnavailable, &apiError{Code: codeUnavailable, Message: "Herald's Redis did not answer; try again (with the same Idempotency-Key, a retry is safe)"})
	}
}

// optionField names the request field that sets the tasks.Option called
// option, so an *OptionError reads in the caller's terms.
func optionField(option string) string {
	switch option {
	case "Account":
		return "account"
	case "DeliverAt":
		return "deliver_at"
	case "DeliverIn":
		return "deliver_in"
	case "IdempotencyKey":
		return "Idempotency-Key"
	case "MaxRetry":
		return "max_retry"
	case "Timeout":
		return "timeout"
	}
	return option
}
