package worker_test

import (
	"bytes"
	"testing"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/tasks"
)

// Opaque JSON in a payload reaches the provider as the producer got it:
// numbers beyond float64 (a 20-digit integer, 1e400), -0, exponents and
// trailing zeros survive Enqueue, Redis, the worker's decoding and the
// client's encoding byte for byte.
func TestEndToEndExtNumbersByteForByte(t *testing.T) {
	s := newStack(t, easemobsim.Options{}, nil)
	const ext = `{"n":12345678901234567890,"f":1e400,"z":-0,"e":1E-7,"d":1.0,"g":0.1e+5,"id":9007199254740993}`
	raw := []byte(`{"target":"alice","pushMessage":{"title":"numbers","content":"exact","ext":` + ext + `}}`)
	job, err := tasks.Parse(tasks.TypeEasemobPushAsync, raw)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	r := s.enqueue(t, job)
	s.waitState(t, "completed", r.IDs()...)

	got := s.sim.Received()
	if len(got) != 1 {
		t.Fatalf("simulator received %d notifications, want 1", len(got))
	}
	if !bytes.Contains(got[0].PushMessage, []byte(`"ext":`+ext)) {
		t.Errorf("pushMessage reached the provider as\n%s\nwant its ext byte for byte:\n%s", got[0].PushMessage, ext)
	}
}
