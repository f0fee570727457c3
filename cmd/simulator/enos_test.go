package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers/enos/enossim"
)

func TestServesEnOS(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logBuffer{}
	done := make(chan error, 1)
	getenv := func(k string) string {
		if k == SecretEnv {
			return "env-secret"
		}
		return ""
	}
	go func() {
		done <- run(ctx, []string{"-provider", "enos", "-addr", "127.0.0.1:0", "-client-id", "k1", "-enos-org-id", "o1"}, getenv, logs)
	}()
	line := logs.listening(t)
	if line["app_key"] != "k1" || line["org_id"] != "o1" || strings.Contains(logs.String(), "env-secret") {
		t.Fatalf("listening line %v (the secret must not be logged)", line)
	}
	ts := time.Now().UnixMilli()
	body := fmt.Sprintf(`{"appKey":"k1","encryption":%q,"timestamp":%d}`, enossim.Sha256Hex("k1", fmt.Sprint(ts), "env-secret"), ts)
	resp, err := http.Post(line["base_url"].(string)+enossim.TokenGetPath, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var reply struct {
		Status int `json:"status"`
		Data   struct {
			AccessToken string `json:"accessToken"`
		} `json:"data"`
	}
	err = json.NewDecoder(resp.Body).Decode(&reply)
	resp.Body.Close()
	if err != nil || reply.Status != 0 || reply.Data.AccessToken == "" {
		t.Fatalf("token/get: %+v, %v", reply, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
