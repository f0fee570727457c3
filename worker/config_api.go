package worker

import (
	"strconv"
	"strings"
	"unicode"
)

// APIConfig is the HTTP API through which services in any language enqueue,
// inspect and cancel jobs (package httpapi). It has a listener of its own,
// apart from the admin server, so it can be exposed to services while
// /metrics and the queue UI stay internal.
type APIConfig struct {
	// Addr to listen on, e.g. ":8081". Empty or "-" turns the API off,
	// which is the default: a worker accepts jobs over HTTP only when told
	// to.
	Addr string `yaml:"addr"`
	// Tokens are the bearer tokens a caller may present, one per calling
	// service so each can be revoked alone. They are required unless Addr
	// is a loopback address: the API never accepts jobs unauthenticated
	// from the network. In the environment: HERALD_API_TOKENS (comma
	// separated) or HERALD_API_TOKENS_FILE (commas or one per line).
	Tokens []string `yaml:"tokens" secret:"true"`
	// MaxBodyBytes bounds a request body; a larger one is refused with 413.
	// Zero means 1 MiB.
	MaxBodyBytes int `yaml:"max_body_bytes"`
}

// DefaultAPIMaxBody is APIConfig.MaxBodyBytes when it is zero: room for a
// few thousand recipients, which the producer splits into provider calls.
const DefaultAPIMaxBody = 1 << 20

// minTokenLen keeps tokens out of reach of guessing: 16 random bytes
// written as hex or base64 are longer than this.
const minTokenLen = 16

// Enabled reports whether the API is to be served.
func (c APIConfig) Enabled() bool { return c.Addr != "" && c.Addr != "-" }

// BodyLimit is MaxBodyBytes with its default applied.
func (c APIConfig) BodyLimit() int64 {
	if c.MaxBodyBytes == 0 {
		return DefaultAPIMaxBody
	}
	return int64(c.MaxBodyBytes)
}

// TokenList returns the tokens, with a file's one-per-line form split as
// well as the comma form, and blanks dropped.
func (c APIConfig) TokenList() []string {
	var out []string
	for _, t := range c.Tokens {
		for _, f := range strings.FieldsFunc(t, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// validate returns the rule the API config breaks, with its key, or nil.
// It never quotes a token.
func (c APIConfig) validate() error {
	bad := func(key, rule string) error { return &ConfigError{Key: "api." + key, Rule: rule} }
	if !c.Enabled() {
		return nil
	}
	if c.MaxBodyBytes < 0 {
		return bad("max_body_bytes", "must not be negative")
	}
	tokens := c.TokenList()
	if len(tokens) == 0 && !loopback(c.Addr) {
		return bad("tokens", "required when api.addr is not a loopback address: the API never accepts jobs unauthenticated from the network")
	}
	for i, t := range tokens {
		if len(t) < minTokenLen {
			return bad("tokens", "token "+strconv.Itoa(i+1)+" is shorter than 16 characters")
		}
		if strings.ContainsFunc(t, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
			return bad("tokens", "token "+strconv.Itoa(i+1)+" contains spaces or control characters")
		}
	}
	return nil
}
