package simkit

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// TokenState is what Tokens.Check found.
type TokenState int

const (
	// TokenUnknown is a token never issued, or revoked.
	TokenUnknown TokenState = iota
	// TokenValid is an issued token that has not expired.
	TokenValid
	// TokenExpired is an issued token past its expiry.
	TokenExpired
)

// Tokens issues access tokens and checks them: expiry by the clock,
// revocation of one (a rotated refresh token, a token a test wants
// rejected) or of all (as when an app's credentials are reset). Each token
// carries a subject (the app, a user) for simulators that issue several
// kinds. The zero value is ready to use. It is safe for concurrent use.
type Tokens struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Mint makes a token's value; nil means 40 random hex digits. Set it
	// to match the provider's format (Feishu "t-…", Easemob "YWMt…").
	Mint func() string

	mu     sync.Mutex
	m      map[string]issued
	issued int
}

type issued struct {
	subject string
	expires time.Time // zero: never
}

// Issue makes a token for subject that expires after ttl (ttl <= 0: never)
// and returns it with its expiry (zero for never).
func (t *Tokens) Issue(subject string, ttl time.Duration) (string, time.Time) {
	v := RandomHex(20)
	if t.Mint != nil {
		v = t.Mint()
	}
	var exp time.Time
	if ttl > 0 {
		exp = t.now().Add(ttl)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]issued{}
	}
	t.m[v] = issued{subject: subject, expires: exp}
	t.issued++
	return v, exp
}

// Check says whether tok is valid now, and whose it is.
func (t *Tokens) Check(tok string) (subject string, state TokenState) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	is, ok := t.m[tok]
	switch {
	case !ok:
		return "", TokenUnknown
	case !is.expires.IsZero() && !now.Before(is.expires):
		return is.subject, TokenExpired
	}
	return is.subject, TokenValid
}

// Revoke forgets tok, reporting whether it was known: a single-use token
// (a refresh token) is redeemed by revoking it and checking the answer.
func (t *Tokens) Revoke(tok string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.m[tok]
	delete(t.m, tok)
	return ok
}

// RevokeAll forgets every token issued so far: the next call with one is
// refused.
func (t *Tokens) RevokeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.m)
}

// Issued is how many tokens were issued since the start or the last
// ResetIssued.
func (t *Tokens) Issued() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.issued
}

// ResetIssued zeroes the count of tokens issued; tokens stay valid.
func (t *Tokens) ResetIssued() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.issued = 0
}

func (t *Tokens) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// RandomHex returns 2n random hex digits, for token values, request ids
// and the like.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RandomUUID returns a random version-4-shaped UUID string.
func RandomUUID() string {
	h := RandomHex(16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + h[16:20] + "-" + h[20:32]
}
