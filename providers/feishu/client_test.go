package feishu_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/feishu"
	"github.com/herald-dispatch/herald/providers/feishu/feishusim"
	"github.com/herald-dispatch/herald/providers/simkit"
	"github.com/herald-dispatch/herald/providers/simkit/simtest"
	"github.com/herald-dispatch/herald/tasks"
)

// execute_send reaches Feishu with the notification id in the path,
// send_at as a string, a valid user token and the helpdesk header; the
// result keeps Feishu's request id.
func TestExecuteSendDelivers(t *testing.T) {
	c, sim, _ := setup(t, feishusim.Options{})
	res, err := c.Send(context.Background(), job("6985032626234982420"))
	if err != nil {
		t.Fatal(err)
	}
	r := res.(*feishu.Result)
	if r.NotificationID != "6985032626234982420" || r.SendAt != "1624326025000" || r.RequestID == "" {
		t.Errorf("result %+v", r)
	}
	got := sim.Received()
	if len(got) != 1 || got[0].NotificationID != "6985032626234982420" || got[0].SendAt != "1624326025000" || got[0].Helpdesk != feishusim.DefaultHelpdeskID {
		t.Fatalf("simulator received %+v", got)
	}
	if n := len(sim.Redemptions()); n != 1 {
		t.Errorf("%d refresh calls, want 1", n)
	}
}

// The helpdesk header is standard base64 of "id:token", which for these
// values differs from the URL alphabet.
func TestHelpdeskHeaderIsStandardBase64(t *testing.T) {
	var seen string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/open-apis/auth/v3/app_access_token/internal":
			fmt.Fprint(w, `{"code":0,"msg":"ok","app_access_token":"t-app","expire":7200}`)
		case "/open-apis/authen/v1/oidc/refresh_access_token":
			fmt.Fprint(w, `{"code":0,"msg":"success","data":{"access_token":"u-1","refresh_token":"ur-2","expires_in":7200}}`)
		default:
			seen = r.Header.Get("X-Lark-Helpdesk-Authorization")
			fmt.Fprint(w, `{"code":0,"msg":"success","data":{}}`)
		}
	})
	k := simkit.New[struct{}](simkit.Config{Handler: h})
	cfg := config(simtest.Start(t, k), "ur-1", srv.Client(t))
	cfg.HelpdeskID, cfg.HelpdeskToken = "id>>", "tok??"
	if _, err := feishu.New(cfg).Send(context.Background(), job("1")); err != nil {
		t.Fatal(err)
	}
	if want := base64.StdEncoding.EncodeToString([]byte("id>>:tok??")); seen != want {
		t.Errorf("header %q, want %q", seen, want)
	}
}

// A user token Feishu says has expired is dropped, Send returns
// Unauthorized after its one call, and the next Send refreshes.
func TestExpiredUserTokenDroppedAndRefreshed(t *testing.T) {
	c, sim, _ := setup(t, feishusim.Options{})
	ctx := context.Background()
	if _, err := c.Send(ctx, job("1")); err != nil {
		t.Fatal(err)
	}
	sim.Inject(simkit.Fault{Kind: simkit.FaultStatus, Endpoint: feishusim.ExecuteSend, Count: 1, Status: 400,
		Body: `{"code":99991677,"msg":"token expired"}`})
	_, err := c.Send(ctx, job("2"))
	if pe := providerError(t, err); pe.Class != providers.Unauthorized {
		t.Fatalf("class %v, want unauthorized", pe.Class)
	}
	if _, err := c.Send(ctx, job("3")); err != nil {
		t.Fatal(err)
	}
	if n := len(sim.Redemptions()); n != 2 {
		t.Errorf("%d refresh calls, want 2 (bootstrap, after the drop)", n)
	}
	execs := 0
	for _, call := range sim.Calls() {
		if call.Endpoint == feishusim.ExecuteSend {
			execs++
		}
	}
	if execs != 3 {
		t.Errorf("%d execute_send calls for 3 Sends, want exactly 3", execs)
	}
}

// A job that is not Feishu's is refused permanently, with no call.
func TestSendRefusesOtherJobs(t *testing.T) {
	c, sim, _ := setup(t, feishusim.Options{})
	_, err := c.Send(context.Background(), &tasks.EasemobPushSync{Target: "a"})
	if pe := providerError(t, err); pe.Class != providers.Permanent {
		t.Fatalf("class %v", pe.Class)
	}
	if n := len(sim.Calls()); n != 0 {
		t.Errorf("%d calls", n)
	}
}
