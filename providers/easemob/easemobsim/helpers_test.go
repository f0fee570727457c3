package easemobsim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/providers/simkit"
	"github.com/herald-dispatch/herald/providers/simkit/simtest"
)

// newClock is a settable clock for Options.Now, at 10:00 China time.
func newClock() *simkit.Clock {
	return simkit.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("CST", 8*3600)))
}

// unlimited lifts every QPS limit, for tests about something else.
func unlimited() map[easemobsim.Endpoint]int {
	m := map[easemobsim.Endpoint]int{}
	for ep := range easemobsim.DefaultQPS() {
		m[ep] = -1
	}
	return m
}

// sim is a started simulator and raw-HTTP helpers around it.
type sim struct {
	*easemobsim.Server
	t    *testing.T
	base string // http://host:port/herald/demo
}

func start(t *testing.T, opts easemobsim.Options) *sim {
	t.Helper()
	s := easemobsim.New(opts)
	return &sim{Server: s, t: t, base: simtest.Start(t, s.Kit) + "/herald/demo"}
}

// reply is a decoded response.
type reply struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r reply) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

func (r reply) num(key string) (int64, error) {
	n, ok := r.body[key].(json.Number)
	if !ok {
		return 0, fmt.Errorf("%s is not a number", key)
	}
	return n.Int64()
}

// newPost builds a JSON POST without credentials.
func newPost(t *testing.T, url string, body any) *http.Request {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

// do sends body (a string sent as is, or a value marshalled to JSON) to
// path under the app, with the bearer token if not "".
func (s *sim) do(path, token string, body any) reply {
	s.t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			s.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, s.base+path, bytes.NewReader(b))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return s.send(req)
}

func (s *sim) send(req *http.Request) reply {
	s.t.Helper()
	resp, raw := simtest.Fetch(s.t, req)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	_ = dec.Decode(&r.body)
	return r
}

// token gets an app token with the default credentials.
func (s *sim) token() string {
	s.t.Helper()
	r := s.do("/token", "", map[string]any{
		"grant_type": "client_credentials", "client_id": easemobsim.DefaultClientID,
		"client_secret": easemobsim.DefaultClientSecret,
	})
	if r.status != 200 || r.str("access_token") == "" {
		s.t.Fatalf("token: HTTP %d %s", r.status, r.raw)
	}
	return r.str("access_token")
}

// wantError checks an error reply: status, error code, and the documented
// envelope around it.
func wantError(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("got HTTP %d error %q (%s); want HTTP %d error %q", r.status, r.str("error"), r.raw, status, code)
	}
	for _, k := range []string{"error", "exception", "timestamp", "duration", "error_description"} {
		if _, ok := r.body[k]; !ok {
			t.Fatalf("error body lacks %q: %s", k, r.raw)
		}
	}
}

func msg() map[string]any {
	return map[string]any{"title": "Hello", "content": "Your parcel has shipped"}
}

func cjk(n int) string { return strings.Repeat("环", n) }
