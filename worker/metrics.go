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
	}
	reg.MustRegister(m.jobs, m.failures, m.latency, m.limiter, m.throttle)
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
