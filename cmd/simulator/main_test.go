package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/providers/simkit"
)

// logBuffer is an io.Writer the test can read while run writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// listening waits for the "simulator listening" line and returns it.
func (b *logBuffer) listening(t *testing.T) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(b.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["message"] == "simulator listening" {
				return m
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no listening line in %q", b.String())
	return nil
}

func TestServesEasemobUntilCancelled(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        string
		fileSecret string
		wantSecret string
	}{
		{"secret from env", nil, "env-secret", "", "env-secret"},
		{"secret from file wins", nil, "env-secret", "file-secret\n", "file-secret"},
		{"demo default", nil, "", "", "demo-client-secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"-provider", "easemob", "-addr", "127.0.0.1:0", "-org", "acme", "-app", "shop", "-client-id", "cid"}
			if tt.fileSecret != "" {
				path := filepath.Join(t.TempDir(), "secret")
				if err := os.WriteFile(path, []byte(tt.fileSecret), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "-client-secret-file", path)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var logs logBuffer
			done := make(chan error, 1)
			getenv := func(k string) string {
				if k == SecretEnv {
					return tt.env
				}
				return ""
			}
			go func() { done <- run(ctx, args, getenv, &logs) }()

			line := logs.listening(t)
			if line["provider"] != "easemob" || line["org"] != "acme" || line["app"] != "shop" || line["client_id"] != "cid" || line["level"] != "info" {
				t.Fatalf("listening line %v", line)
			}
			base, _ := line["base_url"].(string)
			body := `{"grant_type":"client_credentials","client_id":"cid","client_secret":"` + tt.wantSecret + `"}`
			resp, err := http.Post(base+"/acme/shop/token", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("token with the configured secret: HTTP %d", resp.StatusCode)
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("run did not return after cancel")
			}
			if strings.Contains(logs.String(), tt.wantSecret) {
				t.Fatal("the secret was logged")
			}
		})
	}
}

func TestRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no provider", []string{"-addr", "127.0.0.1:0"}, "-provider must be one of dingtalk, easemob"},
		{"unknown provider", []string{"-provider", "pager"}, `got "pager"`},
		{"missing secret file", []string{"-provider", "easemob", "-client-secret-file", "/nonexistent/secret"}, "read -client-secret-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			err := run(t.Context(), tt.args, func(string) string { return "" }, &logs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// The simulator process is driven from outside through simkit's control
// endpoints: a fault injected over HTTP hits the next call, and the calls,
// records and token count can be read back.
func TestControlEndpointsServed(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var logs logBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-provider", "easemob", "-addr", "127.0.0.1:0"}, func(string) string { return "" }, &logs)
	}()
	base, _ := logs.listening(t)["base_url"].(string)
	ctl := &simkit.Control{URL: base}

	if err := ctl.Inject(ctx, simkit.Fault{Kind: simkit.FaultStatus, Endpoint: "token", Status: 503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	token := func() int {
		body := `{"grant_type":"client_credentials","client_id":"demo-client-id","client_secret":"demo-client-secret"}`
		resp, err := http.Post(base+"/herald/demo/token", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := token(); st != 503 {
		t.Fatalf("token with a 503 fault injected over HTTP: HTTP %d", st)
	}
	if st := token(); st != 200 {
		t.Fatalf("token after the fault: HTTP %d", st)
	}
	calls, err := ctl.Calls(ctx)
	if err != nil || len(calls) != 2 || calls[0].Status != 503 || calls[0].Fault != simkit.FaultStatus || calls[1].Status != 200 {
		t.Fatalf("calls %+v, %v", calls, err)
	}
	if n, err := ctl.TokensIssued(ctx); err != nil || n != 1 {
		t.Fatalf("tokens issued %d, %v; want 1", n, err)
	}
	var recs []easemobsim.Record
	if err := ctl.Records(ctx, &recs); err != nil || len(recs) != 0 {
		t.Fatalf("records %+v, %v", recs, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
