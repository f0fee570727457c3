package worker

import (
	"fmt"

	"github.com/herald-dispatch/herald/providers/enos/enossim"
)

// startEnOS starts the demo's EnOS simulator.
func (d *Demo) startEnOS() error {
	d.EnOS = enossim.New(enossim.Options{})
	url, err := d.EnOS.Start("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: enos simulator: %w", err)
	}
	d.enosURL = url
	return nil
}

// configureEnOS gives cfg a "default" EnOS account on the simulator.
func (d *Demo) configureEnOS(cfg *Config) {
	if cfg.EnOS == nil {
		cfg.EnOS = map[string]EnOSAccount{}
	}
	cfg.EnOS["default"] = EnOSAccount{BaseURL: d.enosURL, AppKey: enossim.DefaultAppKey, AppSecret: enossim.DefaultAppSecret}
}

func (d *Demo) closeEnOS() {
	if d.EnOS != nil {
		d.EnOS.Close()
	}
}
