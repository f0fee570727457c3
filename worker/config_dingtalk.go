package worker

import (
	"net/url"
	"strconv"
	"time"

	"github.com/herald-dispatch/herald/tasks"
)

// DingTalkAccount is one DingTalk app sending work notices.
//
//	dingtalk:
//	  default:
//	    app_key: dingxxxxxxxx
//	    app_secret: …            # better: HERALD_DINGTALK_DEFAULT_APP_SECRET(_FILE)
//	    agent_id: 1185599675
//	    tracking: {initial: 5s, max: 5m}
type DingTalkAccount struct {
	// BaseURL is the server API; default https://oapi.dingtalk.com.
	BaseURL   string `yaml:"base_url"`
	AppKey    string `yaml:"app_key"`
	AppSecret string `yaml:"app_secret" secret:"true"`
	// AgentID is the app's agent_id.
	AgentID int `yaml:"agent_id"`
	// Timeout bounds one HTTP call.
	Timeout Duration `yaml:"timeout"`
	// Tracking paces how a send is followed to its result.
	Tracking DingTalkTracking `yaml:"tracking"`
	// Limits override or add to DefaultLimits(dingtalk), by name.
	Limits map[string]LimitConfig `yaml:"limits"`
}

// DingTalkTracking paces the progress checks after a send: the first after
// Initial, each next one twice as late, at most Max apart, for at most
// Window (DingTalk answers for 24 h).
type DingTalkTracking struct {
	Initial Duration `yaml:"initial"`
	Max     Duration `yaml:"max"`
	Window  Duration `yaml:"window"`
}

// Tracking defaults.
const (
	defaultTrackInitial = time.Second
	defaultTrackMax     = 5 * time.Minute
	defaultTrackWindow  = 24 * time.Hour
)

func (t DingTalkTracking) withDefaults() DingTalkTracking {
	if t.Initial == 0 {
		t.Initial = Duration(defaultTrackInitial)
	}
	if t.Max == 0 {
		t.Max = Duration(defaultTrackMax)
	}
	if t.Window == 0 {
		t.Window = Duration(defaultTrackWindow)
	}
	return t
}

func validateDingTalk(accounts map[string]DingTalkAccount) error {
	bad := func(key, rule string) error { return &ConfigError{Key: key, Rule: rule} }
	for _, name := range sortedKeys(accounts) {
		a := accounts[name]
		key := "dingtalk." + name
		if err := tasks.CheckAccountName(name); err != nil {
			return bad(key, "account name "+err.Error())
		}
		if a.BaseURL != "" {
			if u, err := url.Parse(a.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return bad(key+".base_url", "must be an http(s) URL such as https://oapi.dingtalk.com")
			}
		}
		switch {
		case a.AppKey == "":
			return bad(key+".app_key", "required")
		case a.AppSecret == "":
			return bad(key+".app_secret", "required")
		case a.AgentID <= 0:
			return bad(key+".agent_id", "required: the app's positive agent_id, got "+strconv.Itoa(a.AgentID))
		case a.Timeout < 0:
			return bad(key+".timeout", "must not be negative")
		}
		tr := a.Tracking.withDefaults()
		switch {
		case tr.Initial < 0 || tr.Max < tr.Initial:
			return bad(key+".tracking", "needs 0 < initial <= max")
		case tr.Window <= 0 || tr.Window > Duration(defaultTrackWindow):
			return bad(key+".tracking.window", "must be positive and at most 24h (DingTalk answers for 24 h)")
		}
		if err := checkLimits(tasks.DingTalk, key+".limits", a.Limits); err != nil {
			return err
		}
	}
	return nil
}
