package httpapi

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the API's OpenAPI 3 document, served at /v1/openapi.yaml. A
// test parses it with kin-openapi, checks its routes against the mux both
// ways, and validates the requests and responses of the end-to-end tests
// against it.
//
//go:embed openapi.yaml
var OpenAPI []byte

// openAPI serves the document without a token: it describes the API and
// holds nothing secret, and a client generator needs it first.
func (h *Handler) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(OpenAPI)
}
