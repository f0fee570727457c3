package feishu_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/feishu"
	"github.com/herald-dispatch/herald/providers/feishu/feishusim"
	"github.com/herald-dispatch/herald/tasks"
)

// Sending an approved helpdesk notification, against the simulator.
// execute_send takes only a user_access_token, had by redeeming a refresh
// token that Feishu rotates on every use: the client keeps the current
// one (in Redis, shared by every replica, when Config.Redis is set), so
// the token an operator bootstrapped the account with is spent after the
// first refresh.
func Example() {
	sim := feishusim.New(feishusim.Options{})
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer sim.Close()

	bootstrap := sim.IssueRefreshToken() // a user authorizing the app
	c := feishu.New(feishu.Config{
		BaseURL: url, AppID: feishusim.DefaultAppID, AppSecret: feishusim.DefaultAppSecret,
		HelpdeskID: feishusim.DefaultHelpdeskID, HelpdeskToken: feishusim.DefaultHelpdeskToken,
		RefreshToken: bootstrap,
		// Redis: rdb in production; nil keeps the tokens in this process.
	})
	for _, id := range []string{"6985032626234982420", "6985032626234982421"} {
		res, err := c.ExecuteSend(context.Background(), &tasks.FeishuExecuteSend{
			NotificationID: id,
			SendAt:         "1624326025000", // Unix milliseconds, as a string
		})
		if err != nil {
			panic(err)
		}
		fmt.Println("scheduled", res.NotificationID, "at", res.SendAt)
	}
	red := sim.Redemptions()
	fmt.Println("refreshes:", len(red), "bootstrap token spent:", red[0].Token == bootstrap)
	// Output:
	// scheduled 6985032626234982420 at 1624326025000
	// scheduled 6985032626234982421 at 1624326025000
	// refreshes: 1 bootstrap token spent: true
}

// Feishu's helpdesk codes come with a matching HTTP status; the client
// maps each to a class that tells the worker what to do next.
func Example_errors() {
	sim := feishusim.New(feishusim.Options{
		Notifications:        []string{"6985032626234982420"},
		ExecuteSendPerMinute: 2, // Feishu allows 10 a minute
	})
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	c := feishu.New(feishu.Config{
		BaseURL: url, AppID: feishusim.DefaultAppID, AppSecret: feishusim.DefaultAppSecret,
		HelpdeskID: feishusim.DefaultHelpdeskID, HelpdeskToken: feishusim.DefaultHelpdeskToken,
		RefreshToken: sim.IssueRefreshToken(),
	})
	for _, id := range []string{"6985032626234982420", "404", "6985032626234982420"} {
		_, err := c.ExecuteSend(context.Background(), &tasks.FeishuExecuteSend{NotificationID: id, SendAt: "1624326025000"})
		var pe *providers.Error
		if errors.As(err, &pe) {
			fmt.Println(id, pe.Class, "HTTP", pe.Status, "code", pe.Code)
		} else {
			fmt.Println(id, "sent")
		}
	}
	// Output:
	// 6985032626234982420 sent
	// 404 permanent HTTP 404 code 154004
	// 6985032626234982420 rate_limited HTTP 429 code 99991400
}
