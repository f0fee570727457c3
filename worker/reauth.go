package worker

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// reauthCollector reports, at scrape time and straight from Redis, which
// accounts wait for an operator to re-authorize them (a Feishu refresh
// token refused): herald_account_needs_reauth{provider,account} is 1 for
// those, 0 for the others. Every replica reports the same, and the value
// drops to 0 as soon as a new refresh token is stored, before any job runs.
type reauthCollector struct {
	accounts Accounts
	desc     *prometheus.Desc
}

func newReauthCollector(accounts Accounts) *reauthCollector {
	return &reauthCollector{accounts: accounts, desc: prometheus.NewDesc(
		"herald_account_needs_reauth",
		"1 while a provider account's jobs wait for an operator to re-authorize it (Feishu: `worker feishu-auth <account>`).",
		[]string{"provider", "account"}, nil)}
}

func (c *reauthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *reauthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for p, byName := range c.accounts {
		for name, acct := range byName {
			r, ok := acct.Sender.(reauther)
			if !ok {
				continue
			}
			needs, err := r.NeedsReauth(ctx)
			if err != nil {
				continue // Redis unreachable: /readyz says so
			}
			v := 0.0
			if needs {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, string(p), name)
		}
	}
}
