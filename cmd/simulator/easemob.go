package main

import (
	"flag"
	"strconv"
	"time"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
)

// easemobSimulator serves easemobsim. Its own flags: -org, -app,
// -token-ttl, -no-limits.
func easemobSimulator() simulator {
	return simulator{flags: func(fs *flag.FlagSet) func(common) (server, map[string]string) {
		org := fs.String("org", easemobsim.DefaultOrgName, "easemob: org name")
		app := fs.String("app", easemobsim.DefaultAppName, "easemob: app name")
		ttl := fs.Duration("token-ttl", 0, "easemob: app token lifetime when none is asked for (default 60 days)")
		noLimits := fs.Bool("no-limits", false, "easemob: lift the QPS limits and push-task caps")
		return func(c common) (server, map[string]string) {
			opts := easemobsim.Options{
				OrgName: *org, AppName: *app,
				ClientID: c.clientID, ClientSecret: c.clientSecret,
				TokenTTL: *ttl,
			}
			if *noLimits {
				opts.QPS = map[easemobsim.Endpoint]int{}
				for ep := range easemobsim.DefaultQPS() {
					opts.QPS[ep] = -1
				}
				opts.TasksPerWindow = 1 << 30
				opts.MaxRunningTasks = 1 << 30
			}
			sim := easemobsim.New(opts)
			clientID := c.clientID
			if clientID == "" {
				clientID = easemobsim.DefaultClientID
			}
			return sim, map[string]string{
				"org": *org, "app": *app, "client_id": clientID,
				"limits": strconv.FormatBool(!*noLimits), "token_ttl": tokenTTL(*ttl),
			}
		}
	}}
}

func tokenTTL(d time.Duration) string {
	if d == 0 {
		return "60 days"
	}
	return d.String()
}
