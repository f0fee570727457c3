package tasks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header of a webhook request that carries its
// signature:
//
//	Herald-Signature: t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
// t is when the request was signed, in Unix seconds; v1 is the hex
// HMAC-SHA256, keyed with the account's webhook secret, of t, a ".", and
// the request body exactly as received. While a secret is being rotated the
// header may carry several v1 values, one per secret.
const SignatureHeader = "Herald-Signature"

// ErrBadSignature is wrapped by VerifyWebhook's errors.
var ErrBadSignature = errors.New("tasks: webhook signature does not verify")

// SignWebhook returns the SignatureHeader value for body signed at t with
// each of secrets.
func SignWebhook(body []byte, t time.Time, secrets ...[]byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=" + ts)
	for _, s := range secrets {
		b.WriteString(",v1=" + hex.EncodeToString(mac(s, ts, body)))
	}
	return b.String()
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// VerifyWebhook checks a webhook request as its receiver should, before
// trusting the body: header is the SignatureHeader value, body the raw
// body (read it whole, and verify before decoding: re-encoded JSON does not
// verify), secret the account's webhook secret. A signature older than
// maxAge (or more than maxAge in the future) is refused, so a recorded
// request cannot be replayed later; 5 minutes suits clocks kept by NTP.
// maxAge 0 skips that check.
//
// Herald retries a webhook until it gets a 2xx, so the same event may
// arrive more than once: drop repeats by Event.ID.
func VerifyWebhook(header string, body, secret []byte, maxAge time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if sig, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, sig)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: no t=<unix seconds> in %s", ErrBadSignature, SignatureHeader)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: no v1=<hex> in %s", ErrBadSignature, SignatureHeader)
	}
	if maxAge > 0 {
		if age := time.Since(time.Unix(sec, 0)); age > maxAge || age < -maxAge {
			return fmt.Errorf("%w: signed %s ago, more than %s", ErrBadSignature, age.Round(time.Second), maxAge)
		}
	}
	want := mac(secret, ts, body)
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 matches the body and secret", ErrBadSignature)
}
