package dingtalksim_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/dingtalk/dingtalksim"
	"github.com/herald-dispatch/herald/providers/simkit"
	"github.com/herald-dispatch/herald/providers/simkit/simtest"
)

// call makes a raw request, as DingTalk's docs show it, and returns the
// envelope.
func call(t *testing.T, method, url, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d, DingTalk answers 200 with an errcode", resp.StatusCode)
	}
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSimulatorFollowsTheDocs(t *testing.T) {
	clk := simkit.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	sim := dingtalksim.New(dingtalksim.Options{Now: clk.Now})
	base := simtest.Start(t, sim.Kit)
	token := func() string {
		m := call(t, "GET", base+"/gettoken?appkey="+dingtalksim.DefaultAppKey+"&appsecret="+dingtalksim.DefaultAppSecret, "")
		if m["errcode"].(float64) != 0 || m["expires_in"].(float64) != 7200 {
			t.Fatalf("gettoken: %v", m)
		}
		return m["access_token"].(string)
	}
	tok := token()
	clk.Advance(time.Hour)
	if again := token(); again != tok {
		t.Fatal("a valid token must be handed back, extended")
	}
	clk.Advance(7199 * time.Second) // still valid: the second gettoken extended it
	api := func(path, body string) map[string]any {
		return call(t, "POST", base+"/topapi/message/corpconversation/"+path+"?access_token="+tok, body)
	}
	send := api("asyncsend_v2", `{"agent_id":100001,"userid_list":"u1,u2","msg":{"msgtype":"text","text":{"content":"hi"}}}`)
	if send["errcode"].(float64) != 0 || send["task_id"] == nil || send["request_id"] == "" {
		t.Fatalf("send: %v", send)
	}
	id := int64(send["task_id"].(float64))
	codes := []struct {
		name, path, body string
		code             float64
	}{
		{"user list as array", "asyncsend_v2", `{"agent_id":100001,"userid_list":["u1"],"msg":{"msgtype":"text","text":{"content":"x"}}}`, 40035},
		{"no agent_id", "asyncsend_v2", `{"userid_list":"u1","msg":{"msgtype":"text","text":{"content":"x"}}}`, 40035},
		{"21 departments", "asyncsend_v2", `{"agent_id":100001,"dept_id_list":"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21","msg":{"msgtype":"text","text":{"content":"x"}}}`, 40035},
		{"unknown msgtype", "asyncsend_v2", `{"agent_id":100001,"userid_list":"u1","msg":{"msgtype":"sms","sms":{}}}`, 40035},
		{"oa without head", "asyncsend_v2", `{"agent_id":100001,"userid_list":"u1","msg":{"msgtype":"oa","oa":{"message_url":"u","body":{}}}}`, 40035},
		{"status bar on unknown task", "status_bar/update", `{"agent_id":100001,"task_id":9,"status_value":"x"}`, 40035},
		{"status bar without value", "status_bar/update", `{"agent_id":100001,"task_id":` + jsonInt(id) + `}`, 40035},
		{"progress of another agent", "getsendprogress", `{"agent_id":5,"task_id":` + jsonInt(id) + `}`, 40056},
	}
	for _, c := range codes {
		if m := api(c.path, c.body); m["errcode"].(float64) != c.code {
			t.Errorf("%s: %v, want errcode %v", c.name, m, c.code)
		}
	}
	if m := api("recall", `{"agent_id":100001,"msg_task_id":`+jsonInt(id)+`}`); m["errcode"].(float64) != 0 {
		t.Fatalf("recall within 24 h: %v", m)
	}
	clk.Advance(24 * time.Hour)
	tok = token() // the old one expired meanwhile
	if m := api("recall", `{"agent_id":100001,"msg_task_id":`+jsonInt(id)+`}`); m["errcode"].(float64) != 40035 {
		t.Fatalf("recall after 24 h: %v", m)
	}
	old := tok
	clk.Advance(7200 * time.Second)
	tok = old
	if m := api("getsendprogress", `{"agent_id":100001,"task_id":1}`); m["errcode"].(float64) != 42001 {
		t.Fatalf("expired token: %v", m)
	}
	tok = "nope"
	if m := api("getsendprogress", `{"agent_id":100001,"task_id":1}`); m["errcode"].(float64) != 40014 {
		t.Fatalf("unknown token: %v", m)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }
