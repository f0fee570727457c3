package worker

import (
	"fmt"

	"github.com/herald-dispatch/herald/providers/feishu/feishusim"
)

// startFeishu starts the demo's Feishu simulator.
func (d *Demo) startFeishu() error {
	d.Feishu = feishusim.New(feishusim.Options{})
	url, err := d.Feishu.Start("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: feishu simulator: %w", err)
	}
	d.feishuURL = url
	return nil
}

// configureFeishu gives cfg a "default" Feishu account on the simulator,
// bootstrapped with a refresh token as if its user had just authorized
// the app.
func (d *Demo) configureFeishu(cfg *Config) {
	if cfg.Feishu == nil {
		cfg.Feishu = map[string]FeishuAccount{}
	}
	cfg.Feishu["default"] = FeishuAccount{
		BaseURL: d.feishuURL, AppID: feishusim.DefaultAppID, AppSecret: feishusim.DefaultAppSecret,
		HelpdeskID: feishusim.DefaultHelpdeskID, HelpdeskToken: feishusim.DefaultHelpdeskToken,
		RefreshToken: d.Feishu.IssueRefreshToken(),
	}
}
