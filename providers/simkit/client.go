package simkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Control drives a simulator in another process through its control
// endpoints (see ControlPrefix): the demo, benchmarks and multi-process
// tests use it to inject faults and read what was delivered.
type Control struct {
	// URL is the simulator's base URL, e.g. "http://127.0.0.1:9100".
	URL string
	// HTTP makes the calls; nil means a client with a 10 s timeout.
	HTTP *http.Client
}

// Inject adds a fault.
func (c *Control) Inject(ctx context.Context, f Fault) error {
	return c.do(ctx, http.MethodPost, "faults", faultToJSON(f), nil)
}

// ClearFaults removes every fault.
func (c *Control) ClearFaults(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "faults", nil, nil)
}

// Faults returns the faults that still have calls left.
func (c *Control) Faults(ctx context.Context) ([]Fault, error) {
	var js []FaultJSON
	if err := c.do(ctx, http.MethodGet, "faults", nil, &js); err != nil {
		return nil, err
	}
	out := make([]Fault, len(js))
	for i, j := range js {
		f, err := faultFromJSON(j)
		if err != nil {
			return nil, fmt.Errorf("simkit: control: fault %d: %w", i, err)
		}
		out[i] = f
	}
	return out, nil
}

// Calls returns every call the simulator saw.
func (c *Control) Calls(ctx context.Context) ([]Call, error) {
	var calls []Call
	err := c.do(ctx, http.MethodGet, "calls", nil, &calls)
	return calls, err
}

// Records decodes the accepted notifications into out, a pointer to a
// slice of the simulator's record type (e.g. *[]easemobsim.Record).
func (c *Control) Records(ctx context.Context, out any) error {
	return c.do(ctx, http.MethodGet, "records", nil, out)
}

// RevokeTokens revokes every token the simulator issued.
func (c *Control) RevokeTokens(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "tokens/revoke", nil, nil)
}

// RevokeToken revokes one token, reporting whether the simulator knew it.
func (c *Control) RevokeToken(ctx context.Context, tok string) (bool, error) {
	var out struct {
		Known bool `json:"known"`
	}
	err := c.do(ctx, http.MethodPost, "tokens/revoke", map[string]string{"token": tok}, &out)
	return out.Known, err
}

// TokensIssued is how many tokens the simulator issued since it started or
// was reset.
func (c *Control) TokensIssued(ctx context.Context) (int, error) {
	var out struct {
		Issued int `json:"issued"`
	}
	err := c.do(ctx, http.MethodGet, "tokens", nil, &out)
	return out.Issued, err
}

// Limits returns the limits in force, by endpoint.
func (c *Control) Limits(ctx context.Context) (map[Endpoint]Limit, error) {
	var js map[Endpoint]LimitJSON
	if err := c.do(ctx, http.MethodGet, "limits", nil, &js); err != nil {
		return nil, err
	}
	out := make(map[Endpoint]Limit, len(js))
	for ep, j := range js {
		l, err := limitFromJSON(j)
		if err != nil {
			return nil, fmt.Errorf("simkit: control: limit %s: %w", ep, err)
		}
		out[ep] = l
	}
	return out, nil
}

// SetLimit changes ep's limit.
func (c *Control) SetLimit(ctx context.Context, ep Endpoint, l Limit) error {
	return c.do(ctx, http.MethodPut, "limits/"+url.PathEscape(string(ep)), limitToJSON(l), nil)
}

// Reset forgets calls, records, faults, windows and the tokens count.
func (c *Control) Reset(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "reset", nil, nil)
}

func (c *Control) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("simkit: control: %w", err)
		}
		body = bytes.NewReader(b)
	}
	u := strings.TrimRight(c.URL, "/") + ControlPrefix + path
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("simkit: control: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("simkit: control %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("simkit: control %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("simkit: control %s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("simkit: control %s %s: decode: %w", method, path, err)
	}
	return nil
}
