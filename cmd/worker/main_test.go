package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's demo: no Redis configured, every Easemob job delivered to
// the simulator, exit 0.
func TestDemoDeliversEveryEasemobJob(t *testing.T) {
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"demo"}, &out, &errs, []string{"HERALD_ADMIN_ADDR=127.0.0.1:0"})
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errs.String())
	}
	got := out.String()
	if m := regexp.MustCompile(`(\d+) of (\d+) tasks delivered`).FindStringSubmatch(got); m == nil || m[1] != m[2] || m[1] == "0" {
		t.Errorf("demo output lacks the delivery summary, every task delivered:\n%s", got)
	}
	if !strings.Contains(got, "EnOS simulator received: 2 signed produce calls, 150 messages, 150 pushes") {
		t.Errorf("the EnOS batch of 150 messages was not delivered in two calls:\n%s", got)
	}
	for _, ep := range []string{"push.sync", "push.async", "push.single", "push.label", "push.task"} {
		if !strings.Contains(got, "\n"+ep+" ") {
			t.Errorf("the simulator did not list a %s call:\n%s", ep, got)
		}
	}
	if !strings.Contains(errs.String(), "DEMO MODE") {
		t.Error("demo mode must warn, loudly, that nothing persists")
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("redis:\n  url: redis://127.0.0.1:6380\neasemob:\n  default:\n    base_url: https://a1.easemob.com\n    org_name: o\n    app_name: a\n    client_id: i\n"), 0o600)
	os.WriteFile(bad, []byte("redis:\n  url: redis://127.0.0.1:6380\neasemob:\n  default:\n    base_url: https://a1.easemob.com\n"), 0o600)

	tests := []struct {
		name     string
		args     []string
		env      []string
		code     int
		contains string
	}{
		{"good", []string{"-check", "-config", good}, []string{"HERALD_EASEMOB_DEFAULT_CLIENT_SECRET=s"}, 0, "config ok"},
		{"secret missing", []string{"-check", "-config", good}, nil, 2, "easemob.default.client_secret"},
		{"no accounts", []string{"-check"}, []string{"HERALD_REDIS_URL=redis://127.0.0.1:6380"}, 2, "no provider accounts"},
		{"missing key", []string{"-check", "-config", bad}, nil, 2, "easemob.default.org_name"},
		{"bad env", []string{"-check", "-config", good}, []string{"HERALD_EASEMOB_DEFAULT_CLIENT_SECRET=s", "HERALD_CONCURRENCY=lots"}, 2, "HERALD_CONCURRENCY"},
		{"no file", []string{"-check", "-config", filepath.Join(dir, "nope.yaml")}, nil, 2, "nope.yaml"},
		{"bad flag", []string{"-bogus"}, nil, 2, "bogus"},
		{"demo with redis", []string{"demo"}, []string{"HERALD_REDIS_URL=redis://127.0.0.1:6380"}, 2, "embedded Redis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errs, tt.env)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out.String(), errs.String())
			}
			if all := out.String() + errs.String(); !strings.Contains(all, tt.contains) {
				t.Errorf("output lacks %q:\n%s", tt.contains, all)
			}
		})
	}
}
