package main

import (
	"flag"
	"strconv"

	"github.com/herald-dispatch/herald/providers/dingtalk/dingtalksim"
)

// dingtalkSimulator serves dingtalksim. -client-id is the app key and the
// client secret the app secret. Its own flags: -agent-id,
// -dingtalk-token-ttl, -task-duration, -dingtalk-no-limits (prefixed where
// another simulator has a flag of the name: all share one flag set).
func dingtalkSimulator() simulator {
	return simulator{flags: func(fs *flag.FlagSet) func(common) (server, map[string]string) {
		agent := fs.Int64("agent-id", dingtalksim.DefaultAgentID, "dingtalk: the app's agent_id")
		ttl := fs.Duration("dingtalk-token-ttl", 0, "dingtalk: access_token lifetime (default 7200s)")
		dur := fs.Duration("task-duration", 0, "dingtalk: how long a send takes to reach 100% (default 1s)")
		noLimits := fs.Bool("dingtalk-no-limits", false, "dingtalk: lift the 20 calls/s per API")
		return func(c common) (server, map[string]string) {
			opts := dingtalksim.Options{
				AppKey: c.clientID, AppSecret: c.clientSecret, AgentID: *agent,
				TokenTTL: *ttl, TaskDuration: *dur,
			}
			if *noLimits {
				opts.QPS = -1
			}
			key := c.clientID
			if key == "" {
				key = dingtalksim.DefaultAppKey
			}
			return dingtalksim.New(opts), map[string]string{
				"app_key": key, "agent_id": strconv.FormatInt(*agent, 10), "limits": strconv.FormatBool(!*noLimits),
			}
		}
	}}
}
