package worker

import (
	"net/url"

	"github.com/herald-dispatch/herald/tasks"
)

// FeishuAccount is one Feishu (or Lark) app, helpdesk and authorizing
// user: execute_send needs a user_access_token, refreshed with a refresh
// token that Feishu rotates on every use.
type FeishuAccount struct {
	// BaseURL is https://open.feishu.cn, or https://open.larksuite.com
	// for Lark.
	BaseURL   string `yaml:"base_url"`
	AppID     string `yaml:"app_id"`
	AppSecret string `yaml:"app_secret" secret:"true"`
	// HelpdeskID and HelpdeskToken sign every helpdesk call
	// (X-Lark-Helpdesk-Authorization).
	HelpdeskID    string `yaml:"helpdesk_id"`
	HelpdeskToken string `yaml:"helpdesk_token" secret:"true"`
	// RefreshToken bootstraps the account: it is read only while Redis
	// holds no refresh token for it. Afterwards the rotated token lives in
	// Redis; replace it with `worker feishu-auth <account>`.
	RefreshToken string `yaml:"refresh_token" secret:"true"`
	// ReauthRetry is how often jobs of an account waiting for
	// re-authorization look again. Default 1m.
	ReauthRetry Duration `yaml:"reauth_retry"`
	// Timeout bounds one HTTP call.
	Timeout Duration `yaml:"timeout"`
	// Limits override or add to DefaultLimits(feishu), by name.
	Limits map[string]LimitConfig `yaml:"limits"`
}

// validateFeishu checks every Feishu account.
func validateFeishu(accounts map[string]FeishuAccount) error {
	bad := func(key, rule string) error { return &ConfigError{Key: key, Rule: rule} }
	for _, name := range sortedKeys(accounts) {
		a := accounts[name]
		key := "feishu." + name
		if err := tasks.CheckAccountName(name); err != nil {
			return bad(key, "account name "+err.Error())
		}
		if u, err := url.Parse(a.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad(key+".base_url", "must be an http(s) URL such as https://open.feishu.cn (Lark: https://open.larksuite.com)")
		}
		for _, f := range []struct{ k, v string }{
			{"app_id", a.AppID}, {"app_secret", a.AppSecret},
			{"helpdesk_id", a.HelpdeskID}, {"helpdesk_token", a.HelpdeskToken},
		} {
			if f.v == "" {
				return bad(key+"."+f.k, "required")
			}
		}
		if a.Timeout < 0 {
			return bad(key+".timeout", "must not be negative")
		}
		if a.ReauthRetry < 0 {
			return bad(key+".reauth_retry", "must not be negative")
		}
		if err := checkLimits(tasks.Feishu, key+".limits", a.Limits); err != nil {
			return err
		}
	}
	return nil
}
