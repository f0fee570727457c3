package worker_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/worker"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func get(t *testing.T, h http.Handler, path string, auth ...string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if len(auth) == 2 {
		req.SetBasicAuth(auth[0], auth[1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func TestAdminEndpoints(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, nil)
	cfg := s.cfg
	cfg.Admin.Monitoring.Username, cfg.Admin.Monitoring.Password = "ops", "pw"
	w, err := worker.New(cfg, s.rdb, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	h := w.AdminHandler()

	if code, _ := get(t, h, "/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if code, _ := get(t, h, "/readyz"); code != 200 {
		t.Errorf("/readyz = %d with Redis up", code)
	}
	if code, _ := get(t, h, worker.MonitoringPath+"/"); code != http.StatusUnauthorized {
		t.Errorf("UI without credentials = %d, want 401", code)
	}
	if code, _ := get(t, h, worker.MonitoringPath+"/", "ops", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("UI with a wrong password = %d, want 401", code)
	}
	if code, body := get(t, h, worker.MonitoringPath+"/api/queues", "ops", "pw"); code != 200 || !strings.Contains(body, "queues") {
		t.Errorf("UI API with credentials = %d %.100s", code, body)
	}
	// Read-only unless configured: asynqmon refuses to delete.
	req := httptest.NewRequest(http.MethodDelete, worker.MonitoringPath+"/api/queues/easemob", nil)
	req.SetBasicAuth("ops", "pw")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code < 400 {
		t.Errorf("DELETE in read-only mode = %d, want refused", rec.Code)
	}

	// /metrics reports the jobs the stack's worker ran, and queue sizes
	// shared through Redis.
	id := s.enqueue(t, asyncJob("m")).IDs()[0]
	s.waitState(t, "completed", id)
	_, body := get(t, h, "/metrics")
	for _, want := range []string{`herald_queue_tasks{queue="easemob",state="completed"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestAdminMetricsCountJobs(t *testing.T) {
	s := newIdleStack(t, easemobsim.Options{}, nil)
	w := s.startWorker(t)
	var ids []string
	for _, u := range []string{"a", "b", "c", "d"} {
		ids = append(ids, s.enqueue(t, asyncJob(u)).IDs()...)
	}
	s.waitState(t, "completed", ids...)
	_, body := get(t, w.AdminHandler(), "/metrics")
	for _, want := range []string{
		`herald_jobs_total{job_type="easemob:push.async",provider="easemob",result="delivered"} 4`,
		`herald_job_duration_seconds_count{job_type="easemob:push.async",provider="easemob"} 4`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestAdminReadyzFailsWithoutRedis(t *testing.T) {
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer dead.Close()
	w, err := worker.New(simConfig("http://127.0.0.1:1"), dead, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, w.AdminHandler(), "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d with Redis down, want 503", code)
	}
	if code, _ := get(t, w.AdminHandler(), "/healthz"); code != 200 {
		t.Errorf("/healthz = %d: liveness must not depend on Redis", code)
	}
}
