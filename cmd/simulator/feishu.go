package main

import (
	"flag"
	"strconv"

	"github.com/herald-dispatch/herald/providers/feishu/feishusim"
)

// feishuSimulator serves feishusim. -client-id and the client secret are
// the app's app_id and app_secret. Its own flags: -helpdesk-id,
// -user-token-ttl, -no-limits. A refresh token to bootstrap a worker's
// account comes from POST /_feishusim/authorize.
func feishuSimulator() simulator {
	return simulator{flags: func(fs *flag.FlagSet) func(common) (server, map[string]string) {
		helpdesk := fs.String("helpdesk-id", feishusim.DefaultHelpdeskID, "feishu: helpdesk id")
		userTTL := fs.Duration("user-token-ttl", 0, "feishu: user access token lifetime (default 2h)")
		noLimits := fs.Bool("feishu-no-limits", false, "feishu: lift execute_send's 10/min")
		return func(c common) (server, map[string]string) {
			opts := feishusim.Options{AppID: c.clientID, AppSecret: c.clientSecret, HelpdeskID: *helpdesk, UserTokenTTL: *userTTL}
			if *noLimits {
				opts.ExecuteSendPerMinute = -1
			}
			appID := c.clientID
			if appID == "" {
				appID = feishusim.DefaultAppID
			}
			return feishusim.New(opts), map[string]string{
				"app_id": appID, "helpdesk_id": *helpdesk, "limits": strconv.FormatBool(!*noLimits),
				"authorize": "POST /_feishusim/authorize for a refresh token",
			}
		}
	}}
}
