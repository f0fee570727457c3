package simkit

import "time"

// Renew gives a valid token a new life of ttl from now (ttl <= 0: never
// expires) and returns its new expiry, for providers that hand back the
// same token, extended, while it is valid (DingTalk's gettoken). It
// reports false for a token unknown, revoked or already expired.
func (t *Tokens) Renew(tok string, ttl time.Duration) (time.Time, bool) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	is, ok := t.m[tok]
	if !ok || (!is.expires.IsZero() && !now.Before(is.expires)) {
		return time.Time{}, false
	}
	is.expires = time.Time{}
	if ttl > 0 {
		is.expires = now.Add(ttl)
	}
	t.m[tok] = is
	return is.expires, true
}

// RenewToken renews a valid token (see Tokens.Renew).
func (k *Kit[R]) RenewToken(tok string, ttl time.Duration) (time.Time, bool) {
	return k.tokens.Renew(tok, ttl)
}
