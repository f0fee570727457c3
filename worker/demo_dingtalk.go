package worker

import (
	"fmt"
	"time"

	"github.com/herald-dispatch/herald/providers/dingtalk/dingtalksim"
)

// startDingTalk starts the demo's DingTalk simulator. Its sends take two
// seconds to reach 100 %, so the demo shows tracking at work.
func (d *Demo) startDingTalk() error {
	d.DingTalk = dingtalksim.New(dingtalksim.Options{TaskDuration: 2 * time.Second, ReadUsers: []string{"manager7675"}})
	url, err := d.DingTalk.Start("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: dingtalk simulator: %w", err)
	}
	d.dingtalkURL = url
	return nil
}

// configureDingTalk gives DingTalk a "default" account on the simulator.
func (d *Demo) configureDingTalk(cfg *Config) {
	if cfg.DingTalk == nil {
		cfg.DingTalk = map[string]DingTalkAccount{}
	}
	cfg.DingTalk["default"] = DingTalkAccount{
		BaseURL: d.dingtalkURL, AppKey: dingtalksim.DefaultAppKey, AppSecret: dingtalksim.DefaultAppSecret,
		AgentID:  dingtalksim.DefaultAgentID,
		Tracking: DingTalkTracking{Initial: Duration(500 * time.Millisecond), Max: Duration(time.Second)},
	}
}
