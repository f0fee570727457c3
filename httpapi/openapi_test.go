package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/herald-dispatch/herald/httpapi"
	"github.com/herald-dispatch/herald/tasks"
)

// loadOpenAPI parses and validates the embedded document with kin-openapi.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPI)
	if err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI 3 document: %v", err)
	}
	return doc
}

// Every route the mux serves is in the document, and every operation in
// the document is served.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	served := httpapi.Routes()
	sort.Strings(documented)
	sort.Strings(served)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("%s is served but not in openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("%s is in openapi.yaml but not served", d)
		}
	}
}

// The document's job types are tasks.Types(), all of them and no others.
func TestOpenAPIJobTypesAreTasksTypes(t *testing.T) {
	doc := loadOpenAPI(t)
	var enum []string
	for _, v := range doc.Components.Schemas["JobRequest"].Value.Properties["type"].Value.Enum {
		enum = append(enum, v.(string))
	}
	if !slices.Equal(enum, tasks.Types()) {
		t.Errorf("openapi.yaml JobRequest.type enum = %v\nwant tasks.Types() = %v", enum, tasks.Types())
	}
	var queue *openapi3.Schema
	for _, p := range doc.Paths.Find("/v1/queues/{queue}/jobs").Get.Parameters {
		if p.Value.Name == "queue" {
			queue = p.Value.Schema.Value
		}
	}
	if queue == nil {
		t.Fatal("openapi.yaml: listJobs has no queue parameter")
	}
	// Every name tasks.ProviderOfQueue takes, and only those, fits the
	// schema.
	names := []string{"default", "easemob.", "easemob.0", "easemob.x", "Easemob"}
	for _, p := range tasks.Providers() {
		names = append(names, p.Queues(8)...)
	}
	for _, name := range names {
		_, want := tasks.ProviderOfQueue(name)
		if err := queue.VisitJSON(name); (err == nil) != want {
			t.Errorf("openapi.yaml queue schema on %q: %v; tasks.ProviderOfQueue says %v", name, err, want)
		}
	}
}

// The document is served, without a token.
func TestOpenAPIServed(t *testing.T) {
	s := newStack(t, nil)
	res := s.do(t, "GET", "/v1/openapi.yaml", "", "Authorization", "")
	if res.status != http.StatusOK || !bytes.Equal(res.body, httpapi.OpenAPI) {
		t.Fatalf("GET /v1/openapi.yaml: %d, %d bytes; want 200 and the document", res.status, len(res.body))
	}
}

// validatingClient is an HTTP client that checks every response against
// the OpenAPI document (status, headers, body schema), and every request
// the API accepted (2xx) too: a request the server takes must be one the
// document allows. Requests the server refused are often invalid on
// purpose, so only their responses are checked.
func validatingClient(t *testing.T) *http.Client {
	doc := loadOpenAPI(t)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &validator{t: t, router: router, next: http.DefaultTransport}}
}

type validator struct {
	t      *testing.T
	router routers.Router
	next   http.RoundTripper
}

func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	res, err := v.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resBody, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))

	// The router matches on the request as the server saw it.
	check := req.Clone(context.Background())
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := v.router.FindRoute(check)
	if err != nil {
		if res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusMethodNotAllowed {
			v.t.Errorf("openapi: %s %s answered %d but is not in the document: %v", req.Method, req.URL.Path, res.StatusCode, err)
		}
		return res, nil
	}
	in := &openapi3filter.RequestValidationInput{
		Request: check, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if res.StatusCode < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			v.t.Errorf("openapi: the API accepted %s %s (%d), which the document does not allow: %v", req.Method, req.URL.Path, res.StatusCode, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(resBody)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		v.t.Errorf("openapi: %s %s answered %d %s, which the document does not describe: %v",
			req.Method, req.URL.Path, res.StatusCode, strings.TrimSpace(string(resBody)), err)
	}
	return res, nil
}
