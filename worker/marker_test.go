package worker

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The delivery record through what calls of one task do to it, and what
// the next call's begin finds: the in-doubt guarantee rests on this table.
func TestRecordsBegin(t *testing.T) {
	rdb := startRedis(t)
	r := newRecords(rdb, time.Hour)
	ctx := context.Background()

	// A step is one call's record op; owner names the call.
	type step struct{ op, owner string }
	tests := []struct {
		name string
		// before runs first; the begin under test is owner "next" at
		// retry 1, with lease and policy.
		before []step
		lease  time.Duration
		policy InDoubtPolicy
		want   beginStatus
	}{
		{name: "first call", want: beginFirst},
		{name: "delivered", before: []step{{"begin", "a"}, {"done", "a"}}, want: beginDelivered},
		{name: "delivered, then the other call ends late", before: []step{{"begin", "a"}, {"done", "a"}, {"doubt", "a"}, {"clear", "a"}}, want: beginDelivered},
		{name: "answered with an error", before: []step{{"begin", "a"}, {"clear", "a"}}, want: beginFirst},
		{name: "running elsewhere", before: []step{{"begin", "a"}}, policy: Hold, want: beginBusy},
		{name: "renewed, running", before: []step{{"begin", "a"}, {"renew", "a"}}, policy: Resend, want: beginBusy},
		{name: "no reply, hold", before: []step{{"begin", "a"}, {"doubt", "a"}}, policy: Hold, want: beginHeld},
		{name: "no reply, resend", before: []step{{"begin", "a"}, {"doubt", "a"}}, policy: Resend, want: beginResend},
		{name: "held, then run again by an operator", before: []step{{"begin", "a"}, {"doubt", "a"}, {"begin", "held"}}, policy: Hold, want: beginReleased},
		{name: "another call's end leaves ours alone", before: []step{{"begin", "a"}, {"clear", "b"}, {"doubt", "b"}, {"renew", "b"}}, policy: Hold, want: beginBusy},
		{name: "same call begins again", before: []step{{"begin", "next"}}, policy: Hold, want: beginFirst},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := keyOf("task"+string(rune('a'+i)), "e1")
			for _, s := range tt.before {
				var err error
				switch s.op {
				case "begin":
					// "held" is a begin at retry 1 that holds the
					// doubt found, as the archiving attempt did.
					policy, retry := Resend, 0
					if s.owner == "held" {
						policy, retry = Hold, 1
					}
					pipe := rdb.Pipeline()
					read := r.beginIn(ctx, pipe, k, s.owner, "w0:1", retry, time.Minute, policy)
					_, _ = pipe.Exec(ctx)
					_, err = read()
				case "done":
					err = r.done(ctx, k, []byte(`{"id":"p1"}`))
				case "renew":
					err = r.renew(ctx, k, s.owner, time.Minute)
				default:
					err = r.end(ctx, k, s.owner, s.op)
				}
				if err != nil {
					t.Fatalf("%s by %s: %v", s.op, s.owner, err)
				}
			}
			pipe := rdb.Pipeline()
			read := r.beginIn(ctx, pipe, k, "next", "w1:2", 1, time.Minute, tt.policy)
			_, _ = pipe.Exec(ctx) // read runs the script again after a NOSCRIPT
			b, err := read()
			if err != nil {
				t.Fatal(err)
			}
			if b.status != tt.want {
				t.Fatalf("begin found %d, want %d", b.status, tt.want)
			}
			switch b.status {
			case beginDelivered:
				if string(b.result) != `{"id":"p1"}` {
					t.Errorf("result %q", b.result)
				}
			case beginBusy:
				if b.wait <= 50*time.Second || b.wait > time.Minute {
					t.Errorf("wait %v, want the other call's lease left, about a minute", b.wait)
				}
			case beginHeld, beginReleased, beginResend:
				// The evidence is the earlier call's.
				if b.worker != "w0:1" || b.attempt != "0" || time.Since(b.started) > time.Minute || time.Since(b.started) < 0 {
					t.Errorf("evidence: worker %q attempt %q started %v", b.worker, b.attempt, b.started)
				}
			}
			if !b.owns() {
				return
			}
			// A call that goes owns the record: its attempt is written,
			// with a lifetime, and ends with the call.
			v, err := rdb.Get(ctx, string(k)).Result()
			if err != nil || !strings.HasPrefix(v, "~next 1 ") || !strings.HasSuffix(v, " - w1:2") {
				t.Errorf("record %q (%v), want the attempt of call next", v, err)
			}
			if ttl := rdb.PTTL(ctx, string(k)).Val(); ttl <= 59*time.Minute {
				t.Errorf("record's ttl %v, want the records' ttl", ttl)
			}
			if err := r.end(ctx, k, "next", "clear"); err != nil {
				t.Fatal(err)
			}
			if n := rdb.Exists(ctx, string(k)).Val(); n != 0 {
				t.Error("record left after its call was cleared")
			}
		})
	}
}

// A call held in doubt keeps its record's lifetime: holding it rewrites
// the attempt, but must not make it live for ever (or a day longer).
func TestRecordsHoldKeepsTTL(t *testing.T) {
	rdb := startRedis(t)
	r := newRecords(rdb, time.Hour)
	ctx := context.Background()
	k := keyOf("t", "")
	begin := func(owner string, retry int, policy InDoubtPolicy) begun {
		pipe := rdb.Pipeline()
		read := r.beginIn(ctx, pipe, k, owner, "w", retry, time.Minute, policy)
		_, _ = pipe.Exec(ctx)
		b, err := read()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	begin("a", 0, Hold)
	if err := r.end(ctx, k, "a", "doubt"); err != nil {
		t.Fatal(err)
	}
	if err := rdb.PExpire(ctx, string(k), 10*time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if b := begin("b", 1, Hold); b.status != beginHeld {
		t.Fatalf("begin found %d, want held", b.status)
	}
	if ttl := rdb.PTTL(ctx, string(k)).Val(); ttl <= 0 || ttl > 10*time.Minute {
		t.Errorf("held record's ttl %v, want the 10 minutes it had", ttl)
	}
	if b := begin("c", 1, Hold); b.status != beginReleased {
		t.Errorf("a rerun at the held count found %d, want released", b.status)
	}
}
