package worker_test

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/worker"
)

// worker.Run serves the HTTP API on api.addr, behind its tokens, and stops
// serving it when Run returns. (httpapi's own tests drive the API end to
// end.)
func TestRunServesAPI(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the worker listens here next
	s := newIdleStack(t, easemobsim.Options{}, func(c *worker.Config) {
		c.API.Addr = addr
		c.API.Tokens = []string{"run-serves-api-token"}
	})
	_, stop := runWorker(t, s.cfg, s.rdb, s.logs)

	get := func(path, token string) (int, error) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		return res.StatusCode, nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, err := get("/v1/openapi.yaml", "")
		if err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("API not served on %s: %d %v\n%s", addr, code, err, s.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, tt := range []struct {
		token string
		want  int
	}{{"", 401}, {"wrong-token-wrong-token", 401}, {"run-serves-api-token", 404}} {
		if code, err := get("/v1/jobs/none", tt.token); err != nil || code != tt.want {
			t.Errorf("token %q: %d %v, want %d", tt.token, code, err, tt.want)
		}
	}
	stop()
	if _, err := get("/v1/openapi.yaml", ""); err == nil {
		t.Error("the API still answers after Run returned")
	}
}
