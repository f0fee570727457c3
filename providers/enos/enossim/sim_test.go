package enossim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/enos/enossim"

	"github.com/herald-dispatch/herald/providers/simkit/simtest"
)

// Hand-built requests, independent of Herald's client: a correctly signed
// call is accepted, and each broken rule is answered with its code.
func TestSignedCallsByHand(t *testing.T) {
	sim := enossim.New(enossim.Options{})
	base := simtest.Start(t, sim.Kit)
	post := func(path string, h map[string]string, body string) map[string]any {
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	ts := time.Now().UnixMilli()
	enc := enossim.Sha256Hex(enossim.DefaultAppKey, fmt.Sprint(ts), enossim.DefaultAppSecret)
	tokBody := fmt.Sprintf(`{"appKey":%q,"encryption":%q,"timestamp":%d}`, enossim.DefaultAppKey, enc, ts)
	got := post(enossim.TokenGetPath, nil, tokBody)
	tok, _ := got["data"].(map[string]any)["accessToken"].(string)
	if got["status"] != 0.0 || tok == "" || got["data"].(map[string]any)["expire"] != 7200.0 {
		t.Fatalf("token/get: %v", got)
	}
	if again := post(enossim.TokenGetPath, nil, tokBody); again["status"] != 1001.0 {
		t.Fatalf("the same encryption again: %v, want 1001", again)
	}

	body := `{"messages":[{"messageId":"x1","messageType":1,"appId":"a","targetType":1,"targets":["u1"]}]}`
	signed := func(stamp int64, b string) map[string]string {
		return map[string]string{
			"apim-accesstoken": tok,
			"apim-timestamp":   fmt.Sprint(stamp),
			"apim-signature":   enossim.Sha256Hex(tok, "orgId"+enossim.DefaultOrgID+b, fmt.Sprint(stamp), enossim.DefaultAppSecret),
		}
	}
	path := enossim.ProducePath + "?orgId=" + enossim.DefaultOrgID
	tests := []struct {
		name     string
		stamp    int64
		headers  func(h map[string]string)
		body     string
		wantCode float64
	}{
		{"signed", ts + 1, nil, body, 0},
		{"same timestamp again", ts + 1, nil, body, 1001},
		{"body changed after signing", ts + 2, nil, strings.Replace(body, "u1", "u2", 1), 1003},
		{"no signature", ts + 3, func(h map[string]string) { delete(h, "apim-signature") }, body, 1202},
		{"unknown token", ts + 4, func(h map[string]string) { h["apim-accesstoken"] = "nope" }, body, 31401},
	}
	for _, tt := range tests {
		h := signed(tt.stamp, body)
		if tt.headers != nil {
			tt.headers(h)
		}
		if got := post(path, h, tt.body); got["code"] != tt.wantCode {
			t.Fatalf("%s: %v, want code %v", tt.name, got, tt.wantCode)
		}
	}
	if n := len(sim.Records()); n != 1 {
		t.Fatalf("%d pushes, want 1", n)
	}
}
