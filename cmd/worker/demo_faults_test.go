package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// worker demo -faults shows a failure path: the push.async job is retried
// through a 503 burst and delivered, the push.label job is archived with
// the provider's 400, and the demo still exits 0 because that was the plan.
func TestDemoFaults(t *testing.T) {
	var out, errs bytes.Buffer
	env := []string{"HERALD_ADMIN_ADDR=127.0.0.1:0", "HERALD_RETRY_INITIAL=100ms", "HERALD_RETRY_MAX=300ms"}
	code := run(context.Background(), []string{"demo", "-faults"}, &out, &errs, env)
	got := out.String()
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, got, errs.String())
	}
	for _, want := range []string{
		`easemob:push.async\s+completed`,
		`easemob:push.label\s+archived\s+.*400`,
		`1 archived on purpose`,
	} {
		if !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(errs.String(), `"job_type":"easemob:push.async","provider":"easemob","account":"default","attempt":`); n < 4 {
		t.Errorf("push.async logged %d attempts, want the 3 failed and the delivering one", n)
	}
}
