package enossim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/enos/enossim"
	"github.com/herald-dispatch/herald/providers/simkit/simtest"
)

// signer makes signed produce calls by hand (sha256 over token, sorted
// query, body bytes, timestamp, secret), with a fresh timestamp each.
type signer struct {
	t     *testing.T
	base  string
	tok   string
	stamp atomic.Int64
}

func newSigner(t *testing.T, opts enossim.Options) (*enossim.Server, *signer) {
	t.Helper()
	sim := enossim.New(opts)
	base := simtest.Start(t, sim.Kit)
	s := &signer{t: t, base: base}
	s.stamp.Store(time.Now().UnixMilli())
	ts := fmt.Sprint(s.stamp.Add(1))
	body := fmt.Sprintf(`{"appKey":%q,"encryption":%q,"timestamp":%s}`,
		enossim.DefaultAppKey, enossim.Sha256Hex(enossim.DefaultAppKey, ts, enossim.DefaultAppSecret), ts)
	resp, err := http.Post(base+enossim.TokenGetPath, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		Data struct{ AccessToken string } `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.Data.AccessToken == "" {
		t.Fatalf("token/get: %v", err)
	}
	s.tok = tr.Data.AccessToken
	return sim, s
}

// produce posts {"messages": msgs} signed, returning the reply's code.
func (s *signer) produce(msgs ...string) float64 {
	s.t.Helper()
	body := `{"messages":[` + strings.Join(msgs, ",") + `]}`
	ts := fmt.Sprint(s.stamp.Add(1))
	req, _ := http.NewRequest(http.MethodPost, s.base+enossim.ProducePath+"?orgId="+enossim.DefaultOrgID, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("apim-accesstoken", s.tok)
	req.Header.Set("apim-timestamp", ts)
	req.Header.Set("apim-signature", enossim.Sha256Hex(s.tok, "orgId"+enossim.DefaultOrgID+body, ts, enossim.DefaultAppSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var env map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		s.t.Fatal(err)
	}
	c, _ := env["code"].(float64)
	return c
}

// message is a MessageProduceDTO with fields replaced or (nil) removed.
func message(id string, edit map[string]any) string {
	m := map[string]any{
		"messageId": id, "messageType": 1, "appId": "app-access-key",
		"header":     map[string]any{"defaultValue": "Header", "i18nValue": map[string]string{"zh_CN": "标题", "en_US": "Header"}},
		"targetType": 1, "targets": []string{"u1"},
	}
	for k, v := range edit {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// The documented rules of one produce call, by hand: at most 100
// messages; messageType 1, required for a new messageId only; targetType
// 0 (all users) or 1 (the targets listed); all or nothing.
func TestProduceRules(t *testing.T) {
	sim, s := newSigner(t, enossim.Options{})
	many := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = message(fmt.Sprintf("%s-%d", prefix, i), nil)
		}
		return out
	}
	tests := []struct {
		name   string
		msgs   []string
		code   float64
		pushes int // records the call adds
	}{
		{"100 messages", many("a", 100), 0, 100},
		{"101 messages", many("b", 101), 31400, 0},
		{"no messages", nil, 31400, 0},
		{"new id without messageType", []string{message("c1", map[string]any{"messageType": nil})}, 31400, 0},
		{"messageType 2", []string{message("c2", map[string]any{"messageType": 2})}, 31400, 0},
		{"messageType as a string", []string{message("c3", map[string]any{"messageType": "1"})}, 31400, 0},
		{"known id without messageType: only sent", []string{message("a-0", map[string]any{"messageType": nil, "targets": []string{"u9"}})}, 0, 1},
		{"targetType 0 without targets", []string{message("d0", map[string]any{"targetType": 0, "targets": nil})}, 0, 1},
		{"targetType 1 without targets", []string{message("d1", map[string]any{"targets": nil})}, 31400, 0},
		{"targetType 2", []string{message("d2", map[string]any{"targetType": 2})}, 31400, 0},
		{"targetType as a string", []string{message("d4", map[string]any{"targetType": "1"})}, 31400, 0},
		{"no targetType", []string{message("d3", map[string]any{"targetType": nil})}, 31400, 0},
		{"neither appId nor appName", []string{message("e1", map[string]any{"appId": nil})}, 31400, 0},
		{"appName instead of appId", []string{message("e2", map[string]any{"appId": nil, "appName": map[string]any{"defaultValue": "Ext"}})}, 0, 1},
		{"one bad message spoils the call", []string{message("f1", nil), message("f2", map[string]any{"messageType": 3})}, 31400, 0},
		{"same id twice in a call", []string{message("g1", nil), message("g1", nil)}, 31400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(sim.Records())
			if code := s.produce(tt.msgs...); code != tt.code {
				t.Fatalf("code %v, want %v", code, tt.code)
			}
			if got := len(sim.Records()) - before; got != tt.pushes {
				t.Fatalf("%d pushes recorded, want %d", got, tt.pushes)
			}
		})
	}
	// A known id is only sent: new content is ignored, a user who has it
	// is not pushed again.
	before := len(sim.Records())
	if code := s.produce(message("a-1", map[string]any{"header": map[string]any{"defaultValue": "changed"}})); code != 0 {
		t.Fatalf("resend: code %v", code)
	}
	if len(sim.Records()) != before {
		t.Fatal("u1 got a-1 twice")
	}
	for _, m := range sim.Messages() {
		if m.ID == "a-1" && strings.Contains(string(m.DTO), "changed") {
			t.Fatalf("content of a known message changed: %s", m.DTO)
		}
	}
}

// GET /_sim/records serves each Record with snake_case keys, like
// simkit.Call, and simkit.Control decodes them back unchanged.
func TestRecordsOverControl(t *testing.T) {
	sim, s := newSigner(t, enossim.Options{})
	if code := s.produce(message("m1", nil)); code != 0 {
		t.Fatalf("produce: code %v", code)
	}
	simtest.CheckRecords(t, s.base, sim.Records(), "message_id", "user", "new", "at")
}
