package feishu

import (
	"context"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/providers"
)

// A replica whose refresh was refused because another replica (its lock
// having run out) rotated the token meanwhile must not pause the account;
// a rotation answered after an operator stored a new token keeps the
// operator's.
func TestRefreshStoreCompareAndSet(t *testing.T) {
	ctx := context.Background()
	c := New(Config{BaseURL: "http://127.0.0.1:1", AppID: "a", AppSecret: "s", HelpdeskID: "h", HelpdeskToken: "t"})
	s := c.refresh
	if ok, err := s.rotate(ctx, "", "B", "u-1", time.Now().Add(time.Hour), time.Now()); err != nil || !ok {
		t.Fatalf("bootstrap rotation: %v %v", ok, err)
	}
	// A stale replica redeemed A (what Redis held before B) and was refused.
	err := c.refused(ctx, "A", &providers.Error{Provider: Provider, Op: "refresh", Code: "20073"})
	if providers.ClassOf(err) != providers.Transient {
		t.Fatalf("raced refusal: %v, want transient", err)
	}
	if paused, _, _ := s.NeedsReauth(ctx); paused {
		t.Fatal("a raced refusal paused the account")
	}
	// A refusal of the current token pauses it.
	if err := c.refused(ctx, "B", &providers.Error{Provider: Provider, Op: "refresh", Code: "20064"}); providers.ClassOf(err) != providers.Paused {
		t.Fatalf("refusal of the current token: %v, want paused", err)
	}
	// The operator stores C; a late rotation from B must not overwrite it.
	if err := s.Store(ctx, "C"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.rotate(ctx, "B", "D", "u-2", time.Now().Add(time.Hour), time.Now()); ok {
		t.Fatal("a rotation from a replaced token overwrote the operator's")
	}
	if st, _ := s.load(ctx); st.Token != "C" || st.Reauth != "" {
		t.Fatalf("state %+v, want token C and no pause", st)
	}
}
