package easemob_test

import (
	"context"
	"fmt"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/easemob"
	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/tasks"
)

// A push to one user, against the simulator. A vendor's refusal is a
// result, not an error: the call worked and retrying will not change it.
func Example() {
	sim := easemobsim.New(easemobsim.Options{
		NoBinding: []string{"bob"},
		// Easemob allows one push/sync a second; this example makes two.
		QPS: map[easemobsim.Endpoint]int{easemobsim.PushSync: 2},
	})
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer sim.Close()

	c := easemob.New(easemob.Config{
		BaseURL: url, OrgName: "herald", AppName: "demo",
		ClientID: "demo-client-id", ClientSecret: "demo-client-secret",
		// Tokens: providers.NewTokenCache(rdb) to share the token with
		// every replica; nil keeps it in this process.
	})
	msg := tasks.PushMessage{Title: "Order shipped", Content: "Your parcel is on its way"}
	for _, user := range []string{"alice", "bob"} {
		res, err := c.PushSync(context.Background(), &tasks.EasemobPushSync{Target: user, PushMessage: msg})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s delivered=%t %s %q\n", res.Target, res.Delivered, res.PushStatus, res.Desc)
	}
	// Output:
	// alice delivered=true SUCCESS ""
	// bob delivered=false FAIL "no push binding"
}

// Errors carry a class that tells the worker what to do next.
func Example_errors() {
	sim := easemobsim.New(easemobsim.Options{})
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	c := easemob.New(easemob.Config{
		BaseURL: url, OrgName: "herald", AppName: "demo",
		ClientID: "demo-client-id", ClientSecret: "demo-client-secret",
	})

	// Easemob allows one push/sync a second per app.
	job := &tasks.EasemobPushSync{Target: "alice", PushMessage: tasks.PushMessage{Title: "Hi"}}
	var last error
	for range 2 {
		_, last = c.PushSync(context.Background(), job)
	}
	fmt.Println(providers.ClassOf(last))
	fmt.Println(last)
	// Output:
	// rate_limited
	// easemob push.sync: rate_limited (HTTP 429): reach_limit: This request has reached api limit
}
