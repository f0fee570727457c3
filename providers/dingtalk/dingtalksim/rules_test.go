package dingtalksim_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/dingtalk/dingtalksim"
	"github.com/herald-dispatch/herald/providers/simkit"
	"github.com/herald-dispatch/herald/providers/simkit/simtest"
)

// started is a simulator on a fake clock with a token, and a raw POST to
// one of its corpconversation APIs.
type started struct {
	*dingtalksim.Server
	clk  *simkit.Clock
	base string
	tok  string
}

func startSim(t *testing.T, opts dingtalksim.Options) *started {
	t.Helper()
	clk := simkit.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	opts.Now = clk.Now
	sim := dingtalksim.New(opts)
	base := simtest.Start(t, sim.Kit)
	m := call(t, "GET", base+"/gettoken?appkey="+dingtalksim.DefaultAppKey+"&appsecret="+dingtalksim.DefaultAppSecret, "")
	tok, _ := m["access_token"].(string)
	if tok == "" {
		t.Fatalf("gettoken: %v", m)
	}
	return &started{Server: sim, clk: clk, base: base, tok: tok}
}

func (s *started) api(t *testing.T, path, body string) map[string]any {
	t.Helper()
	return call(t, "POST", s.base+"/topapi/message/corpconversation/"+path+"?access_token="+s.tok, body)
}

func errcode(m map[string]any) float64 { c, _ := m["errcode"].(float64); return c }

// sendBody is an asyncsend_v2 body for agent 100001.
func sendBody(users, depts string, msg string) string {
	b := `{"agent_id":100001`
	if users != "" {
		b += `,"userid_list":` + quote(users)
	}
	if depts != "" {
		b += `,"dept_id_list":` + quote(depts)
	}
	return b + `,"msg":` + msg + `}`
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

func ids(prefix string, n int) string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i+1)
	}
	return strings.Join(out, ",")
}

const textMsg = `{"msgtype":"text","text":{"content":"hi"}}`

// textOf is a text msg whose compact JSON is exactly n bytes, its content
// made of r (a multi-byte rune makes a text of few characters but many
// bytes), topped up with ASCII.
func textOf(n int, r string) string {
	head, tail := `{"msgtype":"text","text":{"content":"`, `"}}`
	pad := n - len(head) - len(tail)
	return head + strings.Repeat(r, pad/len(r)) + strings.Repeat("a", pad%len(r)) + tail
}

// One asyncsend_v2 takes at most 100 user ids and 20 departments, and a
// msg of at most 2048 bytes (bytes, not characters).
func TestSendLimitsPerCall(t *testing.T) {
	s := startSim(t, dingtalksim.Options{QPS: -1})
	tests := []struct {
		name string
		body string
		code float64
	}{
		{"100 user ids", sendBody(ids("u", 100), "", textMsg), 0},
		{"101 user ids", sendBody(ids("u", 101), "", textMsg), 40035},
		{"20 departments", sendBody("", ids("", 20), textMsg), 0},
		{"21 departments", sendBody("", ids("", 21), textMsg), 40035},
		{"100 users and 20 departments", sendBody(ids("u", 100), ids("", 20), textMsg), 0},
		{"padded user id", sendBody("u1, u2", "", textMsg), 40035},
		{"department not a number", sendBody("", "1,sales", textMsg), 40035},
		{"no recipients", sendBody("", "", textMsg), 1430000},
		{"msg of 2048 bytes", sendBody("u1", "", textOf(2048, "a")), 0},
		{"msg of 2049 bytes", sendBody("u1", "", textOf(2049, "a")), 40035},
		// 3-byte runes: 2049 bytes is about 670 characters of content; a
		// client counting characters would send it.
		{"msg of 2049 bytes in CJK", sendBody("u1", "", textOf(2049, "通")), 40035},
		{"msg of 2046 bytes in CJK", sendBody("u1", "", textOf(2046, "通")), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.Sends())
			m := s.api(t, "asyncsend_v2", tt.body)
			if errcode(m) != tt.code {
				t.Fatalf("errcode %v (%v), want %v", errcode(m), m["errmsg"], tt.code)
			}
			if want := before + map[bool]int{true: 1}[tt.code == 0]; len(s.Sends()) != want {
				t.Fatalf("%d sends recorded, want %d", len(s.Sends()), want)
			}
		})
	}
	if got := s.Sends()[0]; len(got.UserIDs) != 100 || got.UserIDs[99] != "u100" || got.MsgType != "text" {
		t.Fatalf("first record: %d user ids, msgtype %q", len(got.UserIDs), got.MsgType)
	}
}

// Each msgtype needs its block with that type's required fields; a block
// missing any one of them, or a field left empty, is 40035.
func TestMsgTypeRequiredFields(t *testing.T) {
	s := startSim(t, dingtalksim.Options{QPS: -1})
	types := []struct {
		typ   string
		block map[string]any
	}{
		{"text", map[string]any{"content": "hi"}},
		{"image", map[string]any{"media_id": "@lADOADmaWMzazQKA"}},
		{"voice", map[string]any{"media_id": "@lADOADmaWMzazQKA", "duration": "10"}},
		{"file", map[string]any{"media_id": "@lADOADmaWMzazQKA"}},
		{"link", map[string]any{"messageUrl": "https://example.com", "picUrl": "@lALOACZwe2Rk", "title": "t", "text": "x"}},
		{"oa", map[string]any{"message_url": "https://example.com", "head": map[string]any{"bgcolor": "FFBBBBBB", "text": "h"}, "body": map[string]any{"title": "b"}}},
		{"markdown", map[string]any{"title": "t", "text": "# x"}},
		{"action_card", map[string]any{"title": "t", "markdown": "x", "single_title": "more", "single_url": "https://example.com"}},
	}
	msgOf := func(typ string, block map[string]any) string {
		b, _ := json.Marshal(map[string]any{"msgtype": typ, typ: block})
		return string(b)
	}
	for _, tt := range types {
		t.Run(tt.typ, func(t *testing.T) {
			if m := s.api(t, "asyncsend_v2", sendBody("u1", "", msgOf(tt.typ, tt.block))); errcode(m) != 0 {
				t.Fatalf("complete %s: %v", tt.typ, m)
			}
			if got := s.Sends(); got[len(got)-1].MsgType != tt.typ {
				t.Fatalf("recorded msgtype %q", got[len(got)-1].MsgType)
			}
			if m := s.api(t, "asyncsend_v2", sendBody("u1", "", `{"msgtype":"`+tt.typ+`"}`)); errcode(m) != 40035 {
				t.Fatalf("%s without its block: %v", tt.typ, m)
			}
			for field := range tt.block {
				if strings.HasPrefix(field, "single_") {
					continue // optional
				}
				for _, edit := range []struct {
					name string
					v    any
				}{{"missing", nil}, {"empty", ""}} {
					b := map[string]any{}
					for k, v := range tt.block {
						b[k] = v
					}
					if edit.v == nil {
						delete(b, field)
					} else {
						b[field] = edit.v
					}
					if m := s.api(t, "asyncsend_v2", sendBody("u1", "", msgOf(tt.typ, b))); errcode(m) != 40035 {
						t.Errorf("%s.%s %s: %v, want 40035", tt.typ, field, edit.name, m)
					}
				}
			}
		})
	}
}

// 20 calls a second per app per API: the 21st in the same second is
// errcode 90018 (HTTP 200); another API still has its own 20; the next
// second admits calls again.
func TestQPSPerAPI(t *testing.T) {
	s := startSim(t, dingtalksim.Options{})
	s.clk.Advance(time.Second) // gettoken's call leaves the window
	var task float64
	for i := range 20 {
		m := s.api(t, "asyncsend_v2", sendBody("u1", "", fmt.Sprintf(`{"msgtype":"text","text":{"content":"n%d"}}`, i)))
		if errcode(m) != 0 {
			t.Fatalf("send %d of 20: %v", i+1, m)
		}
		task, _ = m["task_id"].(float64)
	}
	if m := s.api(t, "asyncsend_v2", sendBody("u1", "", textMsg)); errcode(m) != 90018 {
		t.Fatalf("21st send in a second: %v, want 90018", m)
	}
	progress := fmt.Sprintf(`{"agent_id":100001,"task_id":%d}`, int64(task))
	for i := range 20 {
		if m := s.api(t, "getsendprogress", progress); errcode(m) != 0 {
			t.Fatalf("progress %d of 20, a separate API: %v", i+1, m)
		}
	}
	if m := s.api(t, "getsendprogress", progress); errcode(m) != 90018 {
		t.Fatalf("21st progress: %v, want 90018", m)
	}
	s.clk.Advance(time.Second)
	if m := s.api(t, "asyncsend_v2", sendBody("u1", "", textMsg)); errcode(m) != 0 {
		t.Fatalf("send in the next second: %v", m)
	}
	if n := len(s.Sends()); n != 21 {
		t.Fatalf("%d sends recorded, want 21", n)
	}
}

// Recall, progress and result work for 24 h after the send, then the task
// is gone (40035).
func TestTaskQueryableFor24h(t *testing.T) {
	s := startSim(t, dingtalksim.Options{QPS: -1, TokenTTL: 48 * time.Hour})
	m := s.api(t, "asyncsend_v2", sendBody("u1", "", textMsg))
	id := int64(m["task_id"].(float64))
	task := fmt.Sprintf(`{"agent_id":100001,"task_id":%d}`, id)
	recall := fmt.Sprintf(`{"agent_id":100001,"msg_task_id":%d}`, id)
	s.clk.Advance(24*time.Hour - time.Second)
	for _, p := range []string{"getsendprogress", "getsendresult"} {
		if m := s.api(t, p, task); errcode(m) != 0 {
			t.Fatalf("%s at 23:59:59: %v", p, m)
		}
	}
	s.clk.Advance(time.Second)
	for _, c := range []struct{ path, body string }{{"getsendprogress", task}, {"getsendresult", task}, {"recall", recall}} {
		if m := s.api(t, c.path, c.body); errcode(m) != 40035 {
			t.Fatalf("%s at 24 h: %v, want 40035", c.path, m)
		}
	}
}
