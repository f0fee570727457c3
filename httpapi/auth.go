package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// bearer checks "Authorization: Bearer <token>" against the configured
// tokens. Tokens are compared as SHA-256 digests with a constant-time
// compare, against every token whatever the outcome, so neither the
// content nor the length of a token leaks through timing.
type bearer struct {
	digests [][sha256.Size]byte
}

func newBearer(tokens []string) *bearer {
	b := &bearer{}
	for _, t := range tokens {
		b.digests = append(b.digests, sha256.Sum256([]byte(t)))
	}
	return b
}

// caller is who made a request, for the request log: the position of the
// token presented, or -1.
type caller struct{ token int }

type callerKey struct{}

// require wraps next so it runs only for a request with a valid token. With
// no tokens configured it lets everything through.
func (b *bearer) require(next http.Handler) http.Handler {
	if len(b.digests) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, given := bearerToken(r)
		match := -1
		if given {
			d := sha256.Sum256([]byte(token))
			for i, want := range b.digests {
				if subtle.ConstantTimeCompare(d[:], want[:]) == 1 && match < 0 {
					match = i
				}
			}
		}
		if match < 0 {
			// RFC 6750: no error code when no token was sent.
			challenge := `Bearer realm="herald"`
			msg := "send Authorization: Bearer <token>"
			if given {
				challenge += `, error="invalid_token"`
				msg = "the bearer token is not valid"
			}
			w.Header().Set("WWW-Authenticate", challenge)
			writeError(w, http.StatusUnauthorized, &apiError{Code: "unauthorized", Message: msg})
			return
		}
		if who, ok := r.Context().Value(callerKey{}).(*caller); ok {
			who.token = match
		}
		next.ServeHTTP(w, r)
	})
}

// bearerToken returns the token of an "Authorization: Bearer" header. The
// scheme is case-insensitive (RFC 7235).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
