package worker

import (
	"net/url"

	"github.com/herald-dispatch/herald/tasks"
)

// EnOSAccount is one EnOS application, on one EnOS environment's gateway.
type EnOSAccount struct {
	// BaseURL is the environment's API gateway, https://{apigw-address}:
	// each EnOS environment (region, private deployment) has its own.
	BaseURL string `yaml:"base_url"`
	// AppKey and AppSecret are the application's access key and secret
	// key (EnOS Management Console, application registration).
	AppKey    string `yaml:"app_key"`
	AppSecret string `yaml:"app_secret" secret:"true"`
	// Timeout bounds one HTTP call.
	Timeout Duration `yaml:"timeout"`
	// Limits override or add to DefaultLimits(enos), by name.
	Limits map[string]LimitConfig `yaml:"limits"`
}

// validateEnOS checks the EnOS accounts.
func (c Config) validateEnOS() error {
	bad := func(key, rule string) error { return &ConfigError{Key: key, Rule: rule} }
	for _, name := range sortedKeys(c.EnOS) {
		a := c.EnOS[name]
		key := "enos." + name
		if err := tasks.CheckAccountName(name); err != nil {
			return bad(key, "account name "+err.Error())
		}
		if u, err := url.Parse(a.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad(key+".base_url", "must be an http(s) URL such as https://apigw-cn2.envisioniot.com")
		}
		for _, f := range []struct{ k, v string }{{"app_key", a.AppKey}, {"app_secret", a.AppSecret}} {
			if f.v == "" {
				return bad(key+"."+f.k, "required")
			}
		}
		if a.Timeout < 0 {
			return bad(key+".timeout", "must not be negative")
		}
		if err := checkLimits(tasks.EnOS, key+".limits", a.Limits); err != nil {
			return err
		}
	}
	return nil
}
