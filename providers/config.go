package providers

import "fmt"

// Setting is one of a client's Config fields, by the name its errors give
// it, for CheckConfig.
type Setting struct {
	Name  string // the Config field: "AppKey"
	Value string
}

// CheckConfig checks what every client's Config.Validate checks, in this
// order: baseURL and then each of required must be set, and baseURL must
// be an http(s) URL (CheckBaseURL). A missing setting is reported as
// "<provider>: config: <Name> is required", the words tests and docs
// quote, so they are written once here.
func CheckConfig(provider, baseURL string, required ...Setting) error {
	settings := append([]Setting{{Name: "BaseURL", Value: baseURL}}, required...)
	for _, s := range settings {
		if s.Value == "" {
			return fmt.Errorf("%s: config: %s is required", provider, s.Name)
		}
	}
	return CheckBaseURL(provider, baseURL)
}
