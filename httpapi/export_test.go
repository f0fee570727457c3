package httpapi

import "strings"

// Routes lists what the mux serves, as "METHOD /path" in OpenAPI's
// spelling ({id...} is {id}), for the test that holds the OpenAPI document
// to the code.
func Routes() []string {
	var out []string
	for _, rt := range routeTable {
		out = append(out, rt.method+" "+strings.ReplaceAll(rt.pattern, "...}", "}"))
	}
	return out
}
