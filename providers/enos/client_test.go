package enos_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/enos"
	"github.com/herald-dispatch/herald/providers/enos/enossim"
	"github.com/herald-dispatch/herald/providers/simkit"
	"github.com/herald-dispatch/herald/providers/simkit/simtest"
	"github.com/herald-dispatch/herald/tasks"
)

func TestProduceDeliversEachUserOnce(t *testing.T) {
	c, sim := setup(t, enossim.Options{ForeignUsers: []string{"stranger"}})
	res, err := c.Send(t.Context(), produce(msg("m1", "u1", "u2", "stranger"), msg("m2", "u2")))
	if err != nil {
		t.Fatal(err)
	}
	nr := res.(*enos.NoticeResult)
	if fmt.Sprint(nr.MessageIDs) != "[m1 m2]" || nr.OrgID != enossim.DefaultOrgID || nr.RequestID == "" {
		t.Fatalf("result %+v", nr)
	}
	got := deliveries(sim)
	want := map[string]int{"m1:u1": 1, "m1:u2": 1, "m2:u2": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("deliveries %v, want %v (the foreign user dropped silently)", got, want)
	}
	var dto map[string]any
	if err := json.Unmarshal(sim.Messages()[0].DTO, &dto); err != nil {
		t.Fatal(err)
	}
	if dto["header"].(map[string]any)["defaultValue"] != "Header m1" || dto["messageType"] != 1.0 || dto["appId"] != "app-access-key" {
		t.Fatalf("stored message %v", dto)
	}
}

// TestExistingMessageIsOnlySent: a known messageId keeps its content and is
// never pushed twice to a user; new users in targets still get it.
func TestExistingMessageIsOnlySent(t *testing.T) {
	c, sim := setup(t, enossim.Options{})
	if _, err := c.Send(t.Context(), produce(msg("m1", "u1", "u2"))); err != nil {
		t.Fatal(err)
	}
	changed := msg("m1", "u2", "u3")
	changed.Header = &tasks.I18n{DefaultValue: "changed"}
	changed.MessageType = nil // not needed to send an existing message
	if _, err := c.Send(t.Context(), produce(changed)); err != nil {
		t.Fatal(err)
	}
	got := deliveries(sim)
	if fmt.Sprint(got) != "map[m1:u1:1 m1:u2:1 m1:u3:1]" {
		t.Fatalf("deliveries %v", got)
	}
	if !bytes.Contains(sim.Messages()[0].DTO, []byte(`"Header m1"`)) {
		t.Fatalf("content changed: %s", sim.Messages()[0].DTO)
	}
}

// TestBatchIsAllOrNothing: one invalid message fails the call; nothing is
// stored or pushed, and the error is permanent.
func TestBatchIsAllOrNothing(t *testing.T) {
	tests := []struct {
		name  string
		bad   func(*tasks.EnOSMessage)
		field string
	}{
		{"new message without messageType", func(m *tasks.EnOSMessage) { m.MessageType = nil }, "messageType is required"},
		{"new message without targetType", func(m *tasks.EnOSMessage) { m.TargetType = nil }, "targetType is required"},
		{"messageType 2", func(m *tasks.EnOSMessage) { m.MessageType = ptr(2) }, "messageType must be 1"},
		{"targetType 3", func(m *tasks.EnOSMessage) { m.TargetType = ptr(3) }, "targetType must be 0 or 1"},
		{"targetType 1 without targets", func(m *tasks.EnOSMessage) { m.Targets = nil }, "targets is required"},
		{"header zh_CN only", func(m *tasks.EnOSMessage) {
			m.Header = &tasks.I18n{I18nValue: map[string]string{"zh_CN": "只有中文"}}
		}, "header needs default or en_US"},
		{"tag empty", func(m *tasks.EnOSMessage) { m.Tags = []tasks.I18n{{}} }, "tags[0] needs default or en_US"},
		{"no appId nor appName", func(m *tasks.EnOSMessage) { m.AppID = "" }, "appId or, for an external app, appName is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, sim := setup(t, enossim.Options{})
			bad := msg("m2", "u1")
			tt.bad(&bad)
			// Straight to the client: the producer would have refused most
			// of these, the simulator must refuse them too.
			_, err := c.Produce(t.Context(), produce(msg("m1", "u1"), bad, msg("m3", "u1")))
			pe := providerError(t, err)
			if pe.Class != providers.Permanent || pe.Code != "31400" || !strings.Contains(pe.Message, "messages[1]."+tt.field) || pe.RequestID == "" {
				t.Fatalf("error %+v, want permanent 31400 naming messages[1].%s with a request id", pe, tt.field)
			}
			if n := len(sim.Records()); n != 0 || len(sim.Messages()) != 0 {
				t.Fatalf("%d pushes and %d messages stored after a failed call", n, len(sim.Messages()))
			}
		})
	}
}

// TestErrorsFromTheSimulator provokes errors for real and checks their
// class and code.
func TestErrorsFromTheSimulator(t *testing.T) {
	tests := []struct {
		name      string
		opts      enossim.Options
		tweak     func(*enos.Config)
		job       *tasks.EnOSNoticeProduce
		wantOp    string
		wantClass providers.Class
		wantCode  string
	}{
		{"wrong secret", enossim.Options{}, func(c *enos.Config) { c.AppSecret = "wrong" }, produce(msg("m1", "u1")),
			"token.get", providers.Permanent, "1003"},
		{"unknown app key", enossim.Options{}, func(c *enos.Config) { c.AppKey = "nope" }, produce(msg("m1", "u1")),
			"token.get", providers.Permanent, "1002"},
		{"foreign OU", enossim.Options{}, nil, &tasks.EnOSNoticeProduce{OrgID: "o-other", Messages: []tasks.EnOSMessage{msg("m1", "u1")}},
			"notice.produce", providers.Permanent, "31403"},
		{"101 messages", enossim.Options{}, nil, produce(many(101)...),
			"notice.produce", providers.Permanent, "31400"},
		{"gateway throttles (HTTP 429)", enossim.Options{QPS: 1, ErrorStatus: enossim.StatusFor}, nil, produce(msg("m1", "u1")),
			"notice.produce", providers.RateLimited, "99429"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tweaks []func(*enos.Config)
			if tt.tweak != nil {
				tweaks = append(tweaks, tt.tweak)
			}
			c, sim := setup(t, tt.opts, tweaks...)
			var err error
			for range 2 { // the second call exhausts a QPS of 1
				if _, err = c.Send(t.Context(), tt.job); err != nil {
					break
				}
			}
			pe := providerError(t, err)
			if pe.Op != tt.wantOp || pe.Class != tt.wantClass || pe.Code != tt.wantCode || pe.Message == "" {
				t.Fatalf("got %+v; want op %s class %s code %s", pe, tt.wantOp, tt.wantClass, tt.wantCode)
			}
			if tt.wantCode != "99429" && len(sim.Records()) != 0 {
				t.Fatal("a refused call pushed messages")
			}
		})
	}
}

func many(n int) []tasks.EnOSMessage {
	out := make([]tasks.EnOSMessage, n)
	for i := range out {
		out[i] = msg(fmt.Sprintf("m%d", i), "u1")
	}
	return out
}

// TestErrorCodes feeds the client every documented code (and undocumented
// ones) through the simulator's fault injection, once with HTTP 200 and
// once with the status the code suggests: EnOS does not document which.
func TestErrorCodes(t *testing.T) {
	tests := []struct {
		code      int
		status    int // the HTTP status of the second run
		wantClass providers.Class
	}{
		{1001, 400, providers.Transient},
		{1002, 403, providers.Permanent},
		{1003, 401, providers.Permanent},
		{1004, 400, providers.Permanent},
		{1005, 500, providers.Transient},
		{1202, 400, providers.Permanent},
		{1203, 401, providers.Unauthorized},
		{1204, 400, providers.Transient},
		{31400, 400, providers.Permanent},
		{31401, 401, providers.Unauthorized},
		{31403, 403, providers.Permanent},
		{99400, 400, providers.Permanent},
		{99403, 403, providers.Permanent},
		{99404, 404, providers.Permanent},
		{99500, 500, providers.Transient},
		{77777, 502, providers.Transient},   // unknown code, 5xx
		{77777, 418, providers.Permanent},   // unknown code, 4xx
		{99429, 429, providers.RateLimited}, // the gateway's throttling
	}
	for _, tt := range tests {
		for _, status := range []int{200, tt.status} {
			want := tt.wantClass
			if tt.code == 77777 && status == 200 {
				want = providers.Permanent // unknown code with HTTP 200: archived for an operator
			}
			if tt.code == 99429 && status == 200 {
				want = providers.Permanent
			}
			t.Run(fmt.Sprintf("%d_HTTP%d", tt.code, status), func(t *testing.T) {
				c, sim := setup(t, enossim.Options{})
				body := fmt.Sprintf(`{"code":%d,"msg":"m%d","requestId":"req-%d","data":null}`, tt.code, tt.code, tt.code)
				sim.Inject(simkit.Fault{Kind: simkit.FaultStatus, Endpoint: enossim.Produce, Count: 1, Status: status, Body: body})
				_, err := c.Send(t.Context(), produce(msg("m1", "u1")))
				pe := providerError(t, err)
				code := fmt.Sprint(tt.code)
				if pe.Class != want || pe.Code != code || pe.Status != status || pe.Message != "m"+code || pe.RequestID != "req-"+code {
					t.Fatalf("got class %s code %q HTTP %d msg %q request %q; want %s %q %d", pe.Class, pe.Code, pe.Status, pe.Message, pe.RequestID, want, code, status)
				}
				if providers.ClassOf(err) != want {
					t.Fatal("ClassOf disagrees")
				}
			})
		}
	}
}

// TestOddReplies: the token service's shape on a gateway refusal, the
// seed's {"message", data:{success}} shape, data false, HTML pages.
func TestOddReplies(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		wantErr   bool
		wantClass providers.Class
		wantCode  string
	}{
		{"token-service shape", 200, `{"status":1203,"msg":"token expired","business":"apim-token-service"}`, true, providers.Unauthorized, "1203"},
		{"string code", 200, `{"code":"31401","msg":"invalid token"}`, true, providers.Unauthorized, "31401"},
		{"seed example: message and data.success", 200, `{"code":0,"message":"","data":{"success":true}}`, false, 0, ""},
		{"data false", 200, `{"code":0,"msg":"OK","data":false}`, true, providers.Transient, "not_sent"},
		{"no code", 200, `{"data":true}`, true, providers.Transient, "bad_reply"},
		{"not JSON, 200", 200, `<html>ok</html>`, true, providers.Transient, "bad_reply"},
		{"HTML 502", 502, `<html>Bad Gateway</html>`, true, providers.Transient, ""},
		{"HTML 401", 401, `<html>no</html>`, true, providers.Unauthorized, ""},
		{"code 0 but HTTP 503", 503, `{"code":0}`, true, providers.Transient, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, sim := setup(t, enossim.Options{})
			sim.Inject(simkit.Fault{Kind: simkit.FaultStatus, Endpoint: enossim.Produce, Count: 1, Status: tt.status, Body: tt.body})
			_, err := c.Send(t.Context(), produce(msg("m1", "u1")))
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			pe := providerError(t, err)
			if pe.Class != tt.wantClass || pe.Code != tt.wantCode || pe.Status != tt.status {
				t.Fatalf("got %+v, want class %s code %q HTTP %d", pe, tt.wantClass, tt.wantCode, tt.status)
			}
		})
	}
}

// tamper is a transport that changes a request after the client signed it.
type tamper struct {
	edit func(r *http.Request, body []byte) []byte
}

func (tp tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && strings.Contains(r.URL.Path, "notice-message") {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		b = tp.edit(r, b)
		r = r.Clone(r.Context())
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestSignatureCoversWhatIsSent: one byte of the body, or the query,
// changed after signing makes EnOS refuse the call; nothing is pushed.
func TestSignatureCoversWhatIsSent(t *testing.T) {
	tests := []struct {
		name string
		edit func(r *http.Request, body []byte) []byte
	}{
		{"one body byte", func(_ *http.Request, b []byte) []byte {
			i := bytes.Index(b, []byte("Header m1"))
			b[i] = 'h'
			return b
		}},
		{"whitespace added", func(_ *http.Request, b []byte) []byte { return append(b, ' ') }},
		{"query", func(r *http.Request, b []byte) []byte {
			r.URL.RawQuery += "&x=1"
			return b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, sim := setup(t, enossim.Options{}, func(cfg *enos.Config) {
				cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second, Transport: tamper{tt.edit}}
			})
			_, err := c.Send(t.Context(), produce(msg("m1", "u1")))
			pe := providerError(t, err)
			if pe.Code != "1003" || pe.Class != providers.Permanent {
				t.Fatalf("error %+v, want permanent 1003", pe)
			}
			if len(sim.Records()) != 0 {
				t.Fatal("a tampered call pushed messages")
			}
		})
	}
	// Untampered, the same transport path works: the client signs the
	// bytes it sends, HTML-escaped "<&>" included.
	c, sim := setup(t, enossim.Options{}, func(cfg *enos.Config) {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second, Transport: tamper{func(_ *http.Request, b []byte) []byte { return b }}}
	})
	if _, err := c.Send(t.Context(), produce(msg("m1", "u1"))); err != nil || len(sim.Records()) != 1 {
		t.Fatalf("untampered call: %v, %d pushes", err, len(sim.Records()))
	}
}

// TestReusedTimestamp: two clients whose clocks stand still share a
// timestamp; the second call is refused with 1001, transient, and goes
// through on the next attempt, which has a new timestamp.
func TestReusedTimestamp(t *testing.T) {
	frozen := time.Now()
	still := func() time.Time { return frozen }
	c1, sim := setup(t, enossim.Options{}, func(cfg *enos.Config) { cfg.Now = still })
	if _, err := c1.Send(t.Context(), produce(msg("m1", "u1"))); err != nil {
		t.Fatal(err)
	}
	cfg := config(sim.URL())
	cfg.Now = still
	cfg.Tokens = providers.NewTokenCache(srv.Client(t)) // shares the token in Redis
	c2 := enos.New(cfg)
	// c1's token/get used frozen and its produce frozen+1; c2 starts at
	// frozen again, then frozen+1: a reused timestamp.
	_, err := c2.Send(t.Context(), produce(msg("m2", "u1")))
	pe := providerError(t, err)
	if pe.Code != "1001" || pe.Class != providers.Transient {
		t.Fatalf("error %+v, want transient 1001", pe)
	}
	if _, err := c2.Send(t.Context(), produce(msg("m2", "u1"))); err != nil {
		t.Fatalf("next attempt, new timestamp: %v", err)
	}
	if fmt.Sprint(deliveries(sim)) != "map[m1:u1:1 m2:u1:1]" {
		t.Fatalf("deliveries %v", deliveries(sim))
	}
}

// TestCutReplyIsResentHarmlessly: EnOS processed the call but the reply
// never arrived. The client reports a transient failure; sending the batch
// again succeeds and every user still has every message once.
func TestCutReplyIsResentHarmlessly(t *testing.T) {
	c, sim := setup(t, enossim.Options{})
	job := produce(msg("m1", "u1", "u2"), msg("m2", "u3"))
	if _, err := c.Send(t.Context(), job); err != nil { // token fetched
		t.Fatal(err)
	}
	job = produce(msg("m3", "u1", "u2"), msg("m4", "u3"))
	sim.Inject(simkit.Fault{Kind: simkit.FaultDropAfter, Endpoint: enossim.Produce, Count: 1})
	_, err := c.Send(t.Context(), job)
	pe := providerError(t, err)
	if pe.Class != providers.Transient || pe.Status != 0 {
		t.Fatalf("error %+v, want transient without a status", pe)
	}
	if len(sim.Records()) != 6 {
		t.Fatalf("%d pushes; the cut call should have been processed", len(sim.Records()))
	}
	if _, err := c.Send(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	want := "map[m1:u1:1 m1:u2:1 m2:u3:1 m3:u1:1 m3:u2:1 m4:u3:1]"
	if got := fmt.Sprint(deliveries(sim)); got != want {
		t.Fatalf("deliveries %s, want %s", got, want)
	}
}

// TestExpiredTokenIsDroppedAndUnauthorized: one HTTP call per Send. The
// expired token is dropped from Redis, the call returns Unauthorized, and
// the next call fetches a new token.
func TestExpiredTokenIsDroppedAndUnauthorized(t *testing.T) {
	tests := []struct {
		name     string
		expire   func(*enossim.Server, *simkit.Clock)
		wantCode string
	}{
		{"expired", func(_ *enossim.Server, clk *simkit.Clock) { clk.Advance(2*time.Hour + time.Second) }, "1203"},
		{"revoked", func(sim *enossim.Server, _ *simkit.Clock) { sim.RevokeTokens() }, "31401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := srv.Client(t)
			clk := newClock()
			c, sim := setup(t, enossim.Options{Now: clk.Now}, func(cfg *enos.Config) { cfg.Tokens = providers.NewTokenCache(rdb) })
			if _, err := c.Send(t.Context(), produce(msg("m1", "u1"))); err != nil {
				t.Fatal(err)
			}
			key := "herald:token:{enos:" + enossim.DefaultAppKey + "}"
			first := rdb.Get(t.Context(), key).Val()
			if first == "" {
				t.Fatal("token not cached in Redis")
			}
			tt.expire(sim, clk)
			_, err := c.Send(t.Context(), produce(msg("m2", "u1")))
			pe := providerError(t, err)
			if pe.Class != providers.Unauthorized || pe.Code != tt.wantCode {
				t.Fatalf("error %+v, want unauthorized %s", pe, tt.wantCode)
			}
			if strings.Contains(err.Error(), first) {
				t.Fatal("the token is in the error")
			}
			if rdb.Exists(t.Context(), key).Val() != 0 {
				t.Fatal("the rejected token is still cached")
			}
			if n := endpointCalls(sim, enossim.Produce); n != 2 {
				t.Fatalf("%d produce calls, want 2: Send makes one call", n)
			}
			if _, err := c.Send(t.Context(), produce(msg("m2", "u1"))); err != nil {
				t.Fatal(err)
			}
			if n := sim.TokensIssued(); n != 2 {
				t.Fatalf("%d tokens issued, want 2", n)
			}
		})
	}
}

// TestTokenRefreshedNearExpiry: token/get hands back the same token while
// it is valid; when it has less than the margin left the client refreshes
// it, so the cache holds a token worth keeping.
func TestTokenRefreshedNearExpiry(t *testing.T) {
	clk := newClock()
	rdb := srv.Client(t)
	c, sim := setup(t, enossim.Options{Now: clk.Now}, func(cfg *enos.Config) {
		cfg.Tokens = providers.NewTokenCache(rdb)
		cfg.Tokens.Margin = enos.DefaultTokenMargin
	})
	if _, err := c.Send(t.Context(), produce(msg("m1", "u1"))); err != nil {
		t.Fatal(err)
	}
	key := "herald:token:{enos:" + enossim.DefaultAppKey + "}"
	first := rdb.Get(t.Context(), key).Val()
	if ttl := rdb.PTTL(t.Context(), key).Val(); ttl < 109*time.Minute || ttl > 110*time.Minute {
		t.Fatalf("cached for %v, want 2 h minus the 10 min margin", ttl)
	}
	// The simulator's token now has 5 minutes left; the cache lets go of it.
	clk.Advance(115 * time.Minute)
	rdb.Del(t.Context(), key)
	if _, err := c.Send(t.Context(), produce(msg("m2", "u1"))); err != nil {
		t.Fatal(err)
	}
	second := rdb.Get(t.Context(), key).Val()
	if second == "" || second == first {
		t.Fatal("the token was not refreshed")
	}
	if endpointCalls(sim, enossim.TokenGet) != 2 || endpointCalls(sim, enossim.TokenRefresh) != 1 {
		t.Fatalf("token calls: %d get, %d refresh; want 2 and 1", endpointCalls(sim, enossim.TokenGet), endpointCalls(sim, enossim.TokenRefresh))
	}
}

// TestEightReplicasOneTokenFetchPerExpiry: eight replicas, each with its
// own Redis connection, send batches while the token expires twice. Every
// Unauthorized is retried the way the worker does (call again). token/get
// is called once per expiry, plus the first.
func TestEightReplicasOneTokenFetchPerExpiry(t *testing.T) {
	clk := newClock()
	sim := enossim.New(enossim.Options{Now: clk.Now})
	url := simtest.Start(t, sim.Kit)
	srv.Client(t) // flush
	const replicas, rounds = 8, 3
	clients := make([]*enos.Client, replicas)
	for i := range clients {
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
		t.Cleanup(func() { rdb.Close() })
		cfg := config(url)
		cfg.Tokens = providers.NewTokenCache(rdb)
		cfg.Tokens.Margin = enos.DefaultTokenMargin
		cfg.Redis = rdb // timestamps unique across the replicas
		clients[i] = enos.New(cfg)
	}
	for round := range rounds {
		if round > 0 {
			clk.Advance(2*time.Hour + time.Second) // every token issued so far has expired
		}
		var wg sync.WaitGroup
		errs := make(chan error, replicas)
		for i, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				job := produce(msg(fmt.Sprintf("r%d-m%d", round, i), fmt.Sprintf("u%d", i)))
				for attempt := 0; ; attempt++ {
					_, err := c.Send(t.Context(), job)
					if err == nil || providers.ClassOf(err) != providers.Unauthorized || attempt == 1 {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if n := endpointCalls(sim, enossim.TokenGet); n != round+1 {
			t.Fatalf("after round %d: token/get called %d times, want %d (once per expiry)", round, n, round+1)
		}
	}
	if n := len(sim.Records()); n != replicas*rounds {
		t.Fatalf("%d pushes, want %d", n, replicas*rounds)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		cfg  enos.Config
		want string
	}{
		{enos.Config{AppKey: "k", AppSecret: "s"}, "BaseURL is required"},
		{enos.Config{BaseURL: "http://x", AppSecret: "s"}, "AppKey is required"},
		{enos.Config{BaseURL: "http://x", AppKey: "k"}, "AppSecret is required"},
		{enos.Config{BaseURL: "ftp://x", AppKey: "k", AppSecret: "s"}, "not an http(s) URL"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Fatalf("%+v: %v, want %q", tt.cfg, err, tt.want)
		}
		_, serr := enos.New(tt.cfg).Send(t.Context(), produce(msg("m1", "u1")))
		if pe := providerError(t, serr); pe.Class != providers.Permanent || pe.Code != "config" {
			t.Fatalf("Send with a bad config: %+v", pe)
		}
	}
	_, err := enos.New(config("http://127.0.0.1:1")).Send(t.Context(), &tasks.EasemobPushSync{Target: "u"})
	if pe := providerError(t, err); pe.Code != "unsupported_job" || pe.Class != providers.Permanent {
		t.Fatalf("foreign job: %+v", pe)
	}
}

// TestTimestampsUniqueAcrossReplicas: with Redis, two replicas whose
// clocks stand still still never share a timestamp.
func TestTimestampsUniqueAcrossReplicas(t *testing.T) {
	frozen := time.Now()
	rdb := srv.Client(t)
	mk := func(url string) *enos.Client {
		cfg := config(url)
		cfg.Now = func() time.Time { return frozen }
		cfg.Tokens = providers.NewTokenCache(rdb)
		cfg.Redis = rdb
		return enos.New(cfg)
	}
	c1, sim := setup(t, enossim.Options{}, func(cfg *enos.Config) {
		cfg.Now = func() time.Time { return frozen }
		cfg.Redis = rdb
	})
	c2 := mk(sim.URL())
	for i := range 5 {
		for j, c := range []*enos.Client{c1, c2} {
			if _, err := c.Send(t.Context(), produce(msg(fmt.Sprintf("m%d-%d", i, j), "u1"))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(sim.Records()) != 10 {
		t.Fatalf("%d pushes, want 10", len(sim.Records()))
	}
}
