package worker

import (
	"fmt"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/providers/dingtalk/dingtalksim"
	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/providers/enos/enossim"
	"github.com/herald-dispatch/herald/providers/feishu/feishusim"
)

// Demo is the zero-setup environment a worker runs in when no Redis is
// configured: an embedded Redis and the provider simulators, each on a
// loopback port. Nothing persists and nothing reaches a real provider.
type Demo struct {
	Redis   *miniredis.Miniredis
	Easemob *easemobsim.Server
	Feishu  *feishusim.Server
	// DingTalk is the DingTalk simulator (see demo_dingtalk.go).
	DingTalk    *dingtalksim.Server
	dingtalkURL string
	EnOS        *enossim.Server

	easemobOpts easemobsim.Options
	easemobURL  string
	feishuURL   string
	enosURL     string
	stop        chan struct{}
	wg          sync.WaitGroup
}

// StartDemo starts the embedded Redis and the simulators.
func StartDemo() (*Demo, error) {
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("demo: embedded redis: %w", err)
	}
	d := &Demo{Redis: mr, stop: make(chan struct{})}
	// miniredis only expires keys when told time has passed; tell it as
	// the wall clock goes, or leases, locks and tokens would never expire.
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-d.stop:
				return
			case now := <-t.C:
				mr.FastForward(now.Sub(last))
				last = now
			}
		}
	}()

	d.easemobOpts = easemobsim.Options{
		OrgName: easemobsim.DefaultOrgName, AppName: easemobsim.DefaultAppName,
		ClientID: easemobsim.DefaultClientID, ClientSecret: easemobsim.DefaultClientSecret,
	}
	d.Easemob = easemobsim.New(d.easemobOpts)
	url, err := d.Easemob.Start("127.0.0.1:0")
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("demo: easemob simulator: %w", err)
	}
	d.easemobURL = url
	if err := d.startDingTalk(); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.startFeishu(); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.startEnOS(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Configure points cfg at the embedded Redis and gives every provider a
// "default" account on its simulator.
func (d *Demo) Configure(cfg *Config) {
	cfg.Redis = RedisConfig{URL: "redis://" + d.Redis.Addr()}
	o := d.easemobOpts
	if cfg.Easemob == nil {
		cfg.Easemob = map[string]EasemobAccount{}
	}
	cfg.Easemob["default"] = EasemobAccount{
		BaseURL: d.easemobURL, OrgName: o.OrgName, AppName: o.AppName,
		ClientID: o.ClientID, ClientSecret: o.ClientSecret,
	}
	d.configureFeishu(cfg)
	d.configureDingTalk(cfg)
	d.configureEnOS(cfg)
}

// Warn logs, loudly, what demo mode means.
func (d *Demo) Warn(log zerolog.Logger) {
	log.Warn().
		Str("redis", d.Redis.Addr()).
		Str("easemob_simulator", d.easemobURL).Str("feishu_simulator", d.feishuURL).Str("dingtalk_simulator", d.dingtalkURL).
		Str("enos_simulator", d.enosURL).
		Msg("DEMO MODE: no Redis configured, so Herald runs on an embedded Redis and provider simulators. " +
			"NOTHING PERSISTS and NOTHING REACHES A REAL PROVIDER. Configure redis.url (HERALD_REDIS_URL) for real use.")
}

// Close stops the simulators and the embedded Redis.
func (d *Demo) Close() {
	close(d.stop)
	d.wg.Wait()
	if d.Easemob != nil {
		d.Easemob.Close()
	}
	if d.DingTalk != nil {
		d.DingTalk.Close()
	}
	if d.Feishu != nil {
		d.Feishu.Close()
	}
	d.closeEnOS()
	d.Redis.Close()
}
