package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
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
	if !allDelivered(got) {
		t.Errorf("demo output lacks the delivery summary, every task delivered:\n%s", got)
	}
	if !strings.Contains(got, "EnOS simulator received: 2 signed produce calls, 150 messages, 150 pushes") {
		t.Errorf("the EnOS batch of 150 messages was not delivered in two calls:\n%s", got)
	}
	if !strings.Contains(got, "6985032626234982420") {
		t.Errorf("the Feishu execute_send was not shown delivered:\n%s", got)
	}
	for _, want := range []string{`tracked DingTalk task \d+: done after \d+ progress checks, 100%`,
		`dingtalk:work_notice.send\s+completed`, `dingtalk:work_notice.status_bar\s+completed`, `dingtalk:work_notice.recall\s+completed`} {
		if !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
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
		{"nothing configured is demo mode", []string{"-check"}, nil, 0, "DEMO MODE"},
		{"misspelt variable", []string{"-check", "-config", good}, []string{"HERALD_EASEMOB_DEFAULT_CLIENT_SECRET=s", "HERALD_CONCURENCY=5"}, 2, "did you mean HERALD_CONCURRENCY?"},
		{"bad redis db", []string{"-check", "-config", good}, []string{"HERALD_EASEMOB_DEFAULT_CLIENT_SECRET=s", "HERALD_REDIS_URL=redis://127.0.0.1:6380/x"}, 2, "redis.url"},
		{"missing CA", []string{"-check", "-config", good}, []string{"HERALD_EASEMOB_DEFAULT_CLIENT_SECRET=s", "HERALD_REDIS_URL=rediss://127.0.0.1:6380", "HERALD_REDIS_TLS_CA_FILE=" + filepath.Join(dir, "none.pem")}, 2, "redis.tls_ca_file"},
		{"admin not an addr", []string{"-check", "-config", good}, []string{"HERALD_EASEMOB_DEFAULT_CLIENT_SECRET=s", "HERALD_ADMIN_ADDR=not an addr"}, 2, "admin.addr"},
		{"NaN jitter", []string{"-check", "-config", good}, []string{"HERALD_EASEMOB_DEFAULT_CLIENT_SECRET=s", "HERALD_RETRY_JITTER=NaN"}, 2, "retry.jitter"},
		{"help names demo", []string{"-h"}, nil, 0, "worker demo"},
		{"unknown command", []string{"bogus"}, nil, 2, `unknown command "bogus"`},
		{"unknown command after flags", []string{"-check", "bogus"}, nil, 2, "Usage:"},
		{"command after flags", []string{"-check", "demo"}, nil, 0, "DEMO MODE"},
		{"version", []string{"-version"}, nil, 0, "herald worker"},
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

// A stopped Redis is said in Herald's words, naming where it looked, and
// the worker exits 1 (it was configured right; something is down).
func TestUnreachableRedis(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var out, errs bytes.Buffer
	code := run(context.Background(), nil, &out, &errs, []string{
		"HERALD_REDIS_URL=redis://:hunter2x@" + addr + "/0",
		"HERALD_ADMIN_ADDR=-",
		"HERALD_EASEMOB_DEFAULT_BASE_URL=http://127.0.0.1:9",
		"HERALD_EASEMOB_DEFAULT_ORG_NAME=o",
		"HERALD_EASEMOB_DEFAULT_APP_NAME=a",
		"HERALD_EASEMOB_DEFAULT_CLIENT_ID=i",
		"HERALD_EASEMOB_DEFAULT_CLIENT_SECRET=s",
	})
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstderr: %s", code, errs.String())
	}
	if want := "worker: cannot reach Redis at " + addr + ": "; !strings.Contains(errs.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, errs.String())
	}
	if all := out.String() + errs.String(); strings.Contains(all, "hunter2x") || strings.Contains(all, "asynq") {
		t.Errorf("output leaks the password or asynq's internals:\n%s", all)
	}
}

// With the admin port taken, the demo moves to a free one, says so, and
// still delivers everything: it does not enqueue and then die.
func TestDemoAdminPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"demo"}, &out, &errs, []string{"HERALD_ADMIN_ADDR=" + ln.Addr().String()})
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errs.String())
	}
	if !strings.Contains(errs.String(), "is not free") || !strings.Contains(errs.String(), "HERALD_ADMIN_ADDR") {
		t.Errorf("the demo must say it moved and how to choose:\n%s", errs.String())
	}
	if !allDelivered(out.String()) {
		t.Errorf("demo output lacks the delivery summary:\n%s", out.String())
	}
}

// allDelivered says the demo's summary reads "N of N tasks delivered".
// N grows as providers join the demo.
func allDelivered(out string) bool {
	m := regexp.MustCompile(`(\d+) of (\d+) tasks delivered`).FindStringSubmatch(out)
	return m != nil && m[1] == m[2] && m[1] != "0"
}

func TestFormatVersion(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	want := "herald worker v1.2.3 revision abc123 (modified) committed 2026-01-02T03:04:05Z go1.26.0"
	if got := formatVersion(bi); got != want {
		t.Errorf("formatVersion = %q, want %q", got, want)
	}
}
