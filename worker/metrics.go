package worker

import (
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/tasks"
)

// Metrics are the worker's Prometheus collectors. They live in a registry
// of the worker's own, not the global one.
type Metrics struct {
	jobs     *prometheus.CounterVec
	failures *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	limiter  *prometheus.HistogramVec
	throttle *prometheus.CounterVec
	rate     *prometheus.GaugeVec
}

// NewMetrics creates the collectors and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_jobs_total",
			Help: "Job attempts by provider, job type and result (delivered, retry, rate_limited, archived).",
		}, []string{"provider", "job_type", "result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_job_failures_total",
			Help: "Failed job attempts by provider, job type and error class (transient, permanent, unauthorized, rate_limited).",
		}, []string{"provider", "job_type", "class"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "herald_job_duration_seconds",
			Help:    "Time a job attempt took, provider call and limiter waits included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"provider", "job_type"}),
		limiter: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "herald_limiter_wait_seconds",
			Help:    "Time jobs waited in the handler for a rate, window or concurrency limit.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"provider", "limit"}),
		throttle: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_provider_throttled_total",
			Help: "Calls a provider refused as too many (429 and its own rate-limit codes), each of which set a cool-down for every replica. Herald's own limits are herald_limiter_wait_seconds.",
		}, []string{"provider", "job_type"}),
		rate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_limit_effective_rate",
			Help: "Calls per second a rate limit lets through now, by provider, app (scope) and limit: the configured rate, stretched by headroom and margin, lowered while the provider refuses calls it allowed. As this replica last saw it.",
		}, []string{"provider", "scope", "limit"}),
	}
	reg.MustRegister(m.jobs, m.failures, m.latency, m.limiter, m.throttle, m.rate)
	return m
}

func (m *Metrics) observe(p tasks.Provider, typ, result string, class providers.Class, err error, took time.Duration) {
	if m == nil {
		return
	}
	m.jobs.WithLabelValues(string(p), typ, result).Inc()
	if err != nil {
		m.failures.WithLabelValues(string(p), typ, class.String()).Inc()
	}
	m.latency.WithLabelValues(string(p), typ).Observe(took.Seconds())
}

func (m *Metrics) limiterWait(p tasks.Provider, limit string, d time.Duration) {
	if m == nil {
		return
	}
	m.limiter.WithLabelValues(string(p), limit).Observe(d.Seconds())
}

// effectiveRate records the rate lim lets through at share of its
// configured rate.
func (m *Metrics) effectiveRate(p tasks.Provider, lim limit, share float64) {
	if m == nil {
		return
	}
	perSecond := float64(lim.calls.N) / lim.calls.Period.Seconds() * share
	m.rate.WithLabelValues(string(p), lim.scope, lim.name).Set(perSecond)
}

func (m *Metrics) throttled(p tasks.Provider, typ string) {
	if m == nil {
		return
	}
	m.throttle.WithLabelValues(string(p), typ).Inc()
}

// queueCollector reports queue sizes by state at scrape time, straight from
// asynq, so every replica reports the same shared queues.
type queueCollector struct {
	insp *asynq.Inspector
	size *prometheus.Desc
}

func newQueueCollector(insp *asynq.Inspector) *queueCollector {
	return &queueCollector{insp: insp, size: prometheus.NewDesc(
		"herald_queue_tasks", "Tasks in each provider queue by state.", []string{"queue", "state"}, nil)}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.size }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range tasks.Providers() {
		q, err := c.insp.GetQueueInfo(p.Queue())
		if err != nil {
			continue // a queue nobody has used yet does not exist
		}
		for state, n := range map[string]int{
			"pending": q.Pending, "active": q.Active, "scheduled": q.Scheduled,
			"retry": q.Retry, "archived": q.Archived, "completed": q.Completed,
		} {
			ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(n), p.Queue(), state)
		}
	}
}
