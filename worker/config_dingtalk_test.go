package worker_test

import (
	"errors"
	"testing"

	"github.com/herald-dispatch/herald/worker"
)

// DingTalk account errors name the key; secrets come from the environment.
func TestDingTalkConfig(t *testing.T) {
	base := []string{
		"HERALD_REDIS_URL=redis://127.0.0.1:1",
		"HERALD_DINGTALK_DEFAULT_APP_KEY=k",
		"HERALD_DINGTALK_DEFAULT_APP_SECRET=s",
		"HERALD_DINGTALK_DEFAULT_AGENT_ID=100001",
	}
	tests := []struct {
		name string
		env  []string
		key  string // "" = valid
	}{
		{"valid", nil, ""},
		{"no app key", []string{"HERALD_DINGTALK_DEFAULT_APP_KEY="}, "dingtalk.default.app_key"},
		{"no secret", []string{"HERALD_DINGTALK_DEFAULT_APP_SECRET="}, "dingtalk.default.app_secret"},
		{"no agent", []string{"HERALD_DINGTALK_DEFAULT_AGENT_ID=0"}, "dingtalk.default.agent_id"},
		{"bad url", []string{"HERALD_DINGTALK_DEFAULT_BASE_URL=ftp://x"}, "dingtalk.default.base_url"},
		{"window past 24h", []string{"HERALD_DINGTALK_DEFAULT_TRACKING_WINDOW=25h"}, "dingtalk.default.tracking.window"},
		{"max under initial", []string{"HERALD_DINGTALK_DEFAULT_TRACKING_INITIAL=10s", "HERALD_DINGTALK_DEFAULT_TRACKING_MAX=1s"}, "dingtalk.default.tracking"},
		{"unknown job in limit", []string{"HERALD_DINGTALK_DEFAULT_LIMITS_X_JOBS=push.sync", "HERALD_DINGTALK_DEFAULT_LIMITS_X_RATE=1", "HERALD_DINGTALK_DEFAULT_LIMITS_X_PER=1s"}, "dingtalk.default.limits.x.jobs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := worker.LoadConfig("", append(append([]string{}, base...), tt.env...))
			if tt.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *worker.ConfigError
			if !errors.As(err, &ce) || ce.Key != tt.key {
				t.Fatalf("err = %v, want key %s", err, tt.key)
			}
		})
	}
}
