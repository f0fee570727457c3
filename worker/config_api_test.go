package worker

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// The API's config: tokens from a value, a comma list or a file of lines;
// never unauthenticated beyond loopback; errors that never quote a token.
func TestAPIConfig(t *testing.T) {
	const tok1, tok2 = "tok-aaaaaaaaaaaaaaaa", "tok-bbbbbbbbbbbbbbbb"
	lines := writeFile(t, "tokens", tok1+"\n"+tok2+"\n")
	tests := []struct {
		name       string
		env        []string
		wantTokens []string
		wantRule   string // a substring of the ConfigError rule, when it fails
	}{
		{"off by default", nil, nil, ""},
		{"loopback without tokens", []string{"HERALD_API_ADDR=127.0.0.1:8081"}, nil, ""},
		{"localhost without tokens", []string{"HERALD_API_ADDR=localhost:8081"}, nil, ""},
		{"network without tokens", []string{"HERALD_API_ADDR=0.0.0.0:8081"}, nil, "required when api.addr is not a loopback"},
		{"all interfaces without tokens", []string{"HERALD_API_ADDR=:8081"}, nil, "required when api.addr is not a loopback"},
		{"comma list", []string{"HERALD_API_ADDR=:8081", "HERALD_API_TOKENS=" + tok1 + "," + tok2}, []string{tok1, tok2}, ""},
		{"file of lines", []string{"HERALD_API_ADDR=:8081", "HERALD_API_TOKENS_FILE=" + lines}, []string{tok1, tok2}, ""},
		{"short token", []string{"HERALD_API_ADDR=:8081", "HERALD_API_TOKENS=short-secret"}, nil, "shorter than 16"},
		{"negative body limit", []string{"HERALD_API_ADDR=127.0.0.1:1", "HERALD_API_MAX_BODY_BYTES=-1"}, nil, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadConfig(writeFile(t, "h.yaml", easemobYAML), append([]string{"HERALD_EASEMOB_DEFAULT_CLIENT_SECRET=x"}, tt.env...))
			if tt.wantRule != "" {
				var ce *ConfigError
				if !errors.As(err, &ce) || !strings.HasPrefix(ce.Key, "api.") || !strings.Contains(ce.Rule, tt.wantRule) {
					t.Fatalf("err = %v, want an api.* ConfigError saying %q", err, tt.wantRule)
				}
				if strings.Contains(err.Error(), "short-secret") {
					t.Errorf("the error quotes the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.API.TokenList(); !slices.Equal(got, tt.wantTokens) {
				t.Errorf("tokens = %d of them, want %d", len(got), len(tt.wantTokens))
			}
			if cfg.API.BodyLimit() != DefaultAPIMaxBody {
				t.Errorf("body limit %d", cfg.API.BodyLimit())
			}
		})
	}
}
