package simkit

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// ControlPrefix is where a Kit serves its control endpoints, beside the
// simulated API (no provider's paths start with it):
//
//	POST   /_sim/faults            inject a fault (body: FaultJSON)
//	GET    /_sim/faults            the faults left ([]FaultJSON)
//	DELETE /_sim/faults            clear every fault
//	GET    /_sim/calls             every call ([]Call)
//	GET    /_sim/records           accepted notifications ([]R)
//	POST   /_sim/tokens/revoke     revoke all tokens, or one: {"token":"…"}
//	GET    /_sim/tokens            {"issued": n}
//	GET    /_sim/limits            {"<endpoint>": LimitJSON, …}
//	PUT    /_sim/limits/{endpoint} set a limit (body: LimitJSON)
//	POST   /_sim/reset             Reset
//
// Errors are answered 400 with {"error": "…"} naming the field.
const ControlPrefix = "/_sim/"

// FaultJSON is a Fault on the wire: Kind by name, Delay as a Go duration
// string ("250ms").
type FaultJSON struct {
	Kind     FaultKind   `json:"kind"`
	Endpoint Endpoint    `json:"endpoint,omitempty"`
	Count    int         `json:"count,omitempty"`
	Delay    string      `json:"delay,omitempty"`
	Status   int         `json:"status,omitempty"`
	Body     string      `json:"body,omitempty"`
	Header   http.Header `json:"header,omitempty"`
}

// LimitJSON is a Limit on the wire, Per as a Go duration string.
type LimitJSON struct {
	N   int    `json:"n"`
	Per string `json:"per,omitempty"`
}

func faultToJSON(f Fault) FaultJSON {
	j := FaultJSON{Kind: f.Kind, Endpoint: f.Endpoint, Count: f.Count, Status: f.Status, Body: f.Body, Header: f.Header}
	if f.Delay != 0 {
		j.Delay = f.Delay.String()
	}
	return j
}

func faultFromJSON(j FaultJSON) (Fault, error) {
	f := Fault{Kind: j.Kind, Endpoint: j.Endpoint, Count: j.Count, Status: j.Status, Body: j.Body, Header: j.Header}
	if _, ok := faultNames[f.Kind]; !ok {
		return f, fmt.Errorf("kind is required: latency, status, hang, drop or drop_after")
	}
	if j.Count < 0 {
		return f, fmt.Errorf("count must be >= 0 (0: every call), got %d", j.Count)
	}
	if j.Delay != "" {
		d, err := time.ParseDuration(j.Delay)
		if err != nil || d < 0 {
			return f, fmt.Errorf("delay must be a non-negative duration like 250ms, got %q", j.Delay)
		}
		f.Delay = d
	}
	if j.Status != 0 && (j.Status < 100 || j.Status > 599) {
		return f, fmt.Errorf("status must be an HTTP status 100-599, got %d", j.Status)
	}
	return f, nil
}

func limitToJSON(l Limit) LimitJSON {
	j := LimitJSON{N: l.N}
	if l.Per != 0 {
		j.Per = l.Per.String()
	}
	return j
}

func limitFromJSON(j LimitJSON) (Limit, error) {
	l := Limit{N: j.N}
	if j.Per != "" {
		d, err := time.ParseDuration(j.Per)
		if err != nil || d <= 0 {
			return l, fmt.Errorf("per must be a positive duration like 1s, got %q", j.Per)
		}
		l.Per = d
	}
	return l, nil
}

// controlHandler serves the endpoints listed at ControlPrefix.
func (k *Kit[R]) controlHandler() http.Handler {
	mux := http.NewServeMux()
	p := ControlPrefix
	mux.HandleFunc("POST "+p+"faults", func(w http.ResponseWriter, r *http.Request) {
		var j FaultJSON
		if !readJSON(w, r, &j) {
			return
		}
		f, err := faultFromJSON(j)
		if err != nil {
			controlError(w, "fault: "+err.Error())
			return
		}
		k.Inject(f)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+p+"faults", func(w http.ResponseWriter, r *http.Request) {
		list := k.Faults()
		out := make([]FaultJSON, len(list))
		for i, f := range list {
			out[i] = faultToJSON(f)
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("DELETE "+p+"faults", func(w http.ResponseWriter, r *http.Request) {
		k.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+p+"calls", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, nonNil(k.Calls()))
	})
	mux.HandleFunc("GET "+p+"records", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, nonNil(k.Records()))
	})
	mux.HandleFunc("POST "+p+"tokens/revoke", func(w http.ResponseWriter, r *http.Request) {
		var j struct {
			Token string `json:"token"`
		}
		if r.ContentLength != 0 && !readJSON(w, r, &j) {
			return
		}
		if j.Token == "" {
			k.RevokeTokens()
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, map[string]bool{"known": k.RevokeToken(j.Token)})
	})
	mux.HandleFunc("GET "+p+"tokens", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]int{"issued": k.TokensIssued()})
	})
	mux.HandleFunc("GET "+p+"limits", func(w http.ResponseWriter, r *http.Request) {
		out := map[Endpoint]LimitJSON{}
		for ep, l := range k.Limits() {
			out[ep] = limitToJSON(l)
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("PUT "+p+"limits/{endpoint}", func(w http.ResponseWriter, r *http.Request) {
		var j LimitJSON
		if !readJSON(w, r, &j) {
			return
		}
		l, err := limitFromJSON(j)
		if err != nil {
			controlError(w, "limit: "+err.Error())
			return
		}
		k.SetLimit(Endpoint(r.PathValue("endpoint")), l)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST "+p+"reset", func(w http.ResponseWriter, r *http.Request) {
		k.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		controlError(w, "body: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func controlError(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]string{"error": msg})
}
