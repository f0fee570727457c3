package simkit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// notice is the toy provider's record of an accepted notification.
type notice struct {
	To   string `json:"to"`
	Text string `json:"text"`
}

// toy is a whole simulator of a made-up provider: POST /token hands out a
// token, POST /send (Bearer token, 2 calls a second) accepts a notice.
// Everything but the provider's rules comes from the Kit.
type toy struct {
	*simkit.Kit[notice]
}

func newToy(now func() time.Time) *toy {
	s := &toy{}
	s.Kit = simkit.New[notice](simkit.Config{
		Route: func(r *http.Request) simkit.Endpoint {
			switch r.URL.Path {
			case "/token":
				return "token"
			case "/send":
				return "send"
			}
			return ""
		},
		Handler:    http.HandlerFunc(s.serve),
		FaultReply: func(w http.ResponseWriter, r *http.Request, status int) { s.fail(w, r, status, "fault") },
		Limits:     map[simkit.Endpoint]simkit.Limit{"send": {N: 2, Per: time.Second}},
		Now:        now,
	})
	return s
}

// fail writes the toy provider's error body and notes its code.
func (s *toy) fail(w http.ResponseWriter, r *http.Request, status int, code string) {
	simkit.Note(r, code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code})
}

func (s *toy) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/token":
		tok, _ := s.IssueToken("app", time.Hour)
		_ = json.NewEncoder(w).Encode(map[string]string{"token": tok})
	case "/send":
		if _, st := s.CheckToken(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")); st != simkit.TokenValid {
			s.fail(w, r, http.StatusUnauthorized, "token_invalid")
			return
		}
		if !s.Allow("send") {
			s.fail(w, r, http.StatusTooManyRequests, "too_many")
			return
		}
		var n notice
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil || n.To == "" {
			s.fail(w, r, http.StatusBadRequest, "bad_body")
			return
		}
		s.Record(n)
		_ = json.NewEncoder(w).Encode(map[string]string{"code": "ok"})
	default:
		s.fail(w, r, http.StatusNotFound, "not_found")
	}
}

func post(url, token, body string) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// A simulator built on the Kit, driven from outside through its control
// endpoints as a test of another process would.
func Example() {
	sim := newToy(nil)
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	ctl := &simkit.Control{URL: base}
	ctx := context.Background()

	_, reply := post(base+"/token", "", "")
	var tok struct{ Token string }
	_ = json.Unmarshal([]byte(reply), &tok)

	// The next send is answered 503 with the toy's documented body.
	_ = ctl.Inject(ctx, simkit.Fault{Kind: simkit.FaultStatus, Endpoint: "send", Status: 503, Count: 1})
	fmt.Println(post(base+"/send", tok.Token, `{"to":"ann","text":"hi"}`))
	fmt.Println(post(base+"/send", tok.Token, `{"to":"ann","text":"hi"}`))

	// Revoking every token makes the next call 401.
	_ = ctl.RevokeTokens(ctx)
	fmt.Println(post(base+"/send", tok.Token, `{"to":"bob","text":"hi"}`))

	var got []notice
	_ = ctl.Records(ctx, &got)
	fmt.Println("delivered:", got)
	calls, _ := ctl.Calls(ctx)
	for _, c := range calls {
		fmt.Println(c.Endpoint, c.Status, c.Error, c.Fault)
	}
	// Output:
	// 503 {"code":"fault"}
	// 200 {"code":"ok"}
	// 401 {"code":"token_invalid"}
	// delivered: [{ann hi}]
	// token 200  none
	// send 503 fault status
	// send 200  none
	// send 401 token_invalid none
}
