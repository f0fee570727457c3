package easemobsim_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
)

func TestValidation(t *testing.T) {
	clk := newClock() // 2026-03-02 10:00:00 +08:00
	users := func(n int) []string {
		u := make([]string, n)
		for i := range u {
			u[i] = fmt.Sprintf("u%d", i)
		}
		return u
	}
	pm := func(k string, v any) map[string]any { m := msg(); m[k] = v; return m }
	ext := func(n int) map[string]any {
		e := map[string]any{}
		for i := range n {
			e[fmt.Sprintf("k%d", i)] = "v"
		}
		return e
	}
	tests := []struct {
		name       string
		path       string
		body       any
		wantStatus int
		wantError  string // "" for 200
	}{
		{"sync ok", "/push/sync/u1", map[string]any{"strategy": 3, "pushMessage": msg()}, 200, ""},
		{"non-JSON", "/push/single", `{"targets": ["u1"], pushMessage: }`, 400, "json_parse"},
		{"JSON array", "/push/single", `[1,2]`, 400, "json_parse"},
		{"missing pushMessage", "/push/sync/u1", map[string]any{"strategy": 2}, 400, "MessageException"},
		{"null pushMessage", "/push/task", map[string]any{"pushMessage": nil}, 400, "MessageException"},
		{"pushMessage not an object", "/push/async/u1", map[string]any{"pushMessage": "hi"}, 400, "MessageException"},
		{"strategy 5", "/push/async/u1", map[string]any{"strategy": 5, "pushMessage": msg()}, 400, "IllegalArgumentException"},
		{"strategy -1", "/push/single", map[string]any{"targets": []string{"u1"}, "strategy": -1, "pushMessage": msg()}, 400, "IllegalArgumentException"},
		{"strategy as string", "/push/single", map[string]any{"targets": []string{"u1"}, "strategy": "2", "pushMessage": msg()}, 400, "IllegalArgumentException"},
		{"strategy fractional", "/push/single", map[string]any{"targets": []string{"u1"}, "strategy": 2.5, "pushMessage": msg()}, 400, "IllegalArgumentException"},
		{"strategy 0", "/push/single", map[string]any{"targets": []string{"u1"}, "strategy": 0, "pushMessage": msg()}, 200, ""},
		{"single 100 targets", "/push/single", map[string]any{"targets": users(100), "pushMessage": msg()}, 200, ""},
		{"single 101 targets", "/push/single", map[string]any{"targets": users(101), "pushMessage": msg()}, 400, "IllegalArgumentException"},
		{"single no targets", "/push/single", map[string]any{"targets": []string{}, "pushMessage": msg()}, 400, "IllegalArgumentException"},
		{"single targets missing", "/push/single", map[string]any{"pushMessage": msg()}, 400, "IllegalArgumentException"},
		{"single empty target", "/push/single", map[string]any{"targets": []string{"u1", ""}, "pushMessage": msg()}, 400, "IllegalArgumentException"},
		{"label one", "/push/list/label", map[string]any{"targets": []string{"post-90s"}, "pushMessage": msg()}, 200, ""},
		{"label two", "/push/list/label", map[string]any{"targets": []string{"a", "b"}, "pushMessage": msg()}, 400, "IllegalArgumentException"},
		{"label none", "/push/list/label", map[string]any{"targets": []string{}, "pushMessage": msg()}, 400, "IllegalArgumentException"},
		{"startDate 2h ahead", "/push/task", map[string]any{"startDate": "2026-03-02 12:00:00", "pushMessage": msg()}, 200, ""},
		{"startDate 29 days ahead", "/push/list/label", map[string]any{"targets": []string{"x"}, "startDate": "2026-03-31 10:00:00", "pushMessage": msg()}, 200, ""},
		{"startDate exactly 1h ahead", "/push/task", map[string]any{"startDate": "2026-03-02 11:00:00", "pushMessage": msg()}, 400, "IllegalArgumentException"},
		{"startDate 30 min ahead", "/push/task", map[string]any{"startDate": "2026-03-02 10:30:00", "pushMessage": msg()}, 400, "IllegalArgumentException"},
		{"startDate 30 days ahead", "/push/task", map[string]any{"startDate": "2026-04-01 10:00:00", "pushMessage": msg()}, 400, "IllegalArgumentException"},
		{"startDate ISO format", "/push/task", map[string]any{"startDate": "2026-03-02T12:00:00+08:00", "pushMessage": msg()}, 400, "IllegalArgumentException"},
		{"startDate without seconds", "/push/task", map[string]any{"startDate": "2026-03-02 12:00", "pushMessage": msg()}, 400, "IllegalArgumentException"},
		{"startDate in the past", "/push/task", map[string]any{"startDate": "2026-03-02 02:30:00", "pushMessage": msg()}, 400, "IllegalArgumentException"},
		{"title 16 CJK", "/push/sync/u1", map[string]any{"pushMessage": pm("title", cjk(16))}, 200, ""},
		{"title 17 CJK", "/push/sync/u1", map[string]any{"pushMessage": pm("title", cjk(17))}, 400, "MessageException"},
		{"title 32 ASCII", "/push/sync/u1", map[string]any{"pushMessage": pm("title", strings.Repeat("a", 32))}, 200, ""},
		{"title 33 ASCII", "/push/sync/u1", map[string]any{"pushMessage": pm("title", strings.Repeat("a", 33))}, 400, "MessageException"},
		{"title not a string", "/push/sync/u1", map[string]any{"pushMessage": pm("title", 7)}, 400, "MessageException"},
		{"subTitle 11", "/push/sync/u1", map[string]any{"pushMessage": pm("subTitle", strings.Repeat("s", 11))}, 400, "MessageException"},
		{"sub_title 11", "/push/sync/u1", map[string]any{"pushMessage": pm("sub_title", strings.Repeat("s", 11))}, 400, "MessageException"},
		{"content 100", "/push/sync/u1", map[string]any{"pushMessage": pm("content", strings.Repeat("c", 100))}, 200, ""},
		{"content 101", "/push/sync/u1", map[string]any{"pushMessage": pm("content", strings.Repeat("c", 101))}, 400, "MessageException"},
		{"ext 10 pairs", "/push/sync/u1", map[string]any{"pushMessage": pm("ext", ext(10))}, 200, ""},
		{"ext 11 pairs", "/push/sync/u1", map[string]any{"pushMessage": pm("ext", ext(11))}, 400, "MessageException"},
		{"ext too long", "/push/sync/u1", map[string]any{"pushMessage": pm("ext", map[string]any{"k": strings.Repeat("x", 1020)})}, 400, "MessageException"},
		{"vendor block not an object", "/push/sync/u1", map[string]any{"pushMessage": pm("huawei", "x")}, 400, "MessageException"},
		{"body over 5 KB", "/push/sync/u1", map[string]any{"pushMessage": pm("ext", map[string]any{"k": strings.Repeat("x", 5<<10)})}, 413, "request_entity_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, easemobsim.Options{Now: clk.Now, QPS: unlimited(), TasksPerWindow: 100, MaxRunningTasks: 100})
			r := s.do(tt.path, s.token(), tt.body)
			if tt.wantError == "" {
				if r.status != 200 {
					t.Fatalf("HTTP %d %s; want 200", r.status, r.raw)
				}
				if len(s.Received()) != 1 {
					t.Fatalf("%d records, want 1", len(s.Received()))
				}
				return
			}
			if tt.wantStatus == 413 {
				if r.status != 413 || r.str("error") != tt.wantError {
					t.Fatalf("HTTP %d %s; want 413", r.status, r.raw)
				}
			} else {
				wantError(t, r, tt.wantStatus, tt.wantError)
			}
			if len(s.Received()) != 0 {
				t.Fatal("a rejected push was recorded as received")
			}
		})
	}
}

func TestContentTypeRequired(t *testing.T) {
	s := start(t, easemobsim.Options{})
	req := newPost(t, s.base+"/push/single", map[string]any{"targets": []string{"u1"}, "pushMessage": msg()})
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Authorization", "Bearer "+s.token())
	wantError(t, s.send(req), http.StatusUnsupportedMediaType, "unsupported_media_type")
}

func TestLabelsConfigured(t *testing.T) {
	s := start(t, easemobsim.Options{Labels: map[string][]string{"vip": {"u1", "u2"}}})
	tok := s.token()
	wantError(t, s.do("/push/list/label", tok, map[string]any{"targets": []string{"nobody"}, "pushMessage": msg()}), 400, "IllegalArgumentException")
	if r := s.do("/push/list/label", tok, map[string]any{"targets": []string{"vip"}, "pushMessage": msg()}); r.status != 200 {
		t.Fatalf("known label: HTTP %d %s", r.status, r.raw)
	}
}

func TestPushDisabled(t *testing.T) {
	s := start(t, easemobsim.Options{PushDisabled: true})
	wantError(t, s.do("/push/single", s.token(), map[string]any{"targets": []string{"u1"}, "pushMessage": msg()}), 403, "ServiceNotOpenException")
}
