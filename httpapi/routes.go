package httpapi

import (
	"net/http"
	"slices"
	"strings"
)

// route is one thing the API serves. The table is the single list of
// routes: the mux is built from it, and a test checks it against the
// OpenAPI document both ways.
type route struct {
	method  string
	pattern string // ServeMux pattern
	public  bool   // served without a token
	handle  func(*Handler, http.ResponseWriter, *http.Request)
}

var routeTable = []route{
	{http.MethodPost, "/v1/jobs", false, (*Handler).createJob},
	{http.MethodGet, "/v1/jobs/{id...}", false, (*Handler).getJob},
	{http.MethodDelete, "/v1/jobs/{id...}", false, (*Handler).cancelJob},
	{http.MethodGet, "/v1/queues/{queue}/jobs", false, (*Handler).listJobs},
	{http.MethodGet, "/v1/openapi.yaml", true, (*Handler).openAPI},
}

// routes builds the mux. Each path also gets a method-less pattern that
// answers 405 with Allow, and "/" answers 404, both in the API's JSON.
func (h *Handler) routes() *http.ServeMux {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range routeTable {
		var next http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rt.handle(h, w, r) })
		if !rt.public {
			next = h.auth.require(next)
		}
		mux.Handle(rt.method+" "+rt.pattern, next)
		if _, seen := allowed[rt.pattern]; !seen {
			paths = append(paths, rt.pattern)
		}
		allowed[rt.pattern] = append(allowed[rt.pattern], rt.method)
	}
	for _, p := range paths {
		methods := allowed[p]
		if slices.Contains(methods, http.MethodGet) {
			methods = append(methods, http.MethodHead)
		}
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			writeError(w, http.StatusMethodNotAllowed, &apiError{Code: codeMethod, Message: r.Method + " is not served here; use " + strings.Join(methods, ", ")})
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, &apiError{Code: codeNotFound, Message: "no such route; see /v1/openapi.yaml"})
	})
	return mux
}
