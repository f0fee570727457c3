package worker

import (
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
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
	circuits *prometheus.GaugeVec
	inDoubt  *prometheus.CounterVec
	records  *prometheus.CounterVec
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
	m.circuits = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "herald_circuit_state",
		Help: "An account's circuit breaker as this replica last saw it: 0 closed (sending), 1 open (jobs wait, one probe per circuit.probe).",
	}, []string{"provider", "account"})
	m.inDoubt = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_in_doubt_total",
		Help: "Jobs that found an earlier call of theirs without a reply (the provider may have acted), by the policy that decided: resend, hold (archived for an operator), or released (run again by an operator after a hold).",
	}, []string{"provider", "job", "policy"})
	m.records = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_delivery_record_retries_total",
		Help: "Writes of a delivery record (delivered-marker, attempt end) that failed and were retried, by what was written.",
	}, []string{"record"})
	reg.MustRegister(m.jobs, m.failures, m.latency, m.limiter, m.throttle, m.rate, m.circuits, m.inDoubt, m.records)
	reg.MustRegister(newBuildInfo())
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

// queueCollector reports queue sizes by state, and the age of each queue's
// oldest pending task, at scrape time, straight from asynq, so every
// replica reports the same shared queues. It also says whether Redis
// answered (herald_redis_up).
//
// When Redis does not answer, the queue gauges keep the values of the last
// good scrape rather than vanish: a dashboard then shows the last known
// depth beside herald_redis_up 0, and an alert on queue depth does not
// resolve itself because Redis went away. Alert on herald_redis_up too.
type queueCollector struct {
	insp   *asynq.Inspector
	size   *prometheus.Desc
	oldest *prometheus.Desc
	up     *prometheus.Desc

	mu   sync.Mutex
	last []prometheus.Metric // the queue gauges of the last good scrape
}

func newQueueCollector(insp *asynq.Inspector) *queueCollector {
	return &queueCollector{
		insp: insp,
		size: prometheus.NewDesc(
			"herald_queue_tasks", "Tasks in each provider queue by state.", []string{"queue", "state"}, nil),
		oldest: prometheus.NewDesc(
			"herald_queue_oldest_pending_seconds",
			"Age of the oldest pending task in each provider queue: how long the next job has waited for a worker. 0 when none is pending.",
			[]string{"queue"}, nil),
		up: prometheus.NewDesc(
			"herald_redis_up", "1 if Redis answered this scrape, 0 if not (queue gauges then repeat their last values).", nil, nil),
	}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.size
	ch <- c.oldest
	ch <- c.up
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	metrics, err := c.read()
	up := 1.0
	if err != nil {
		up, metrics = 0, c.last
	} else {
		c.last = metrics
	}
	for _, m := range metrics {
		ch <- m
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
}

// read asks Redis for every queue's figures: the providers' and any other
// (asynq's "default", from a raw client that named no queue), since a task
// stranded where no worker looks must still show on a dashboard. An error
// means Redis did not answer.
func (c *queueCollector) read() ([]prometheus.Metric, error) {
	// One cheap round trip first: the queues that exist (a queue nobody
	// has used yet does not), and a Redis that is down costs one timeout
	// per scrape, not one per queue.
	queues, err := c.insp.Queues()
	if err != nil {
		return nil, err
	}
	slices.Sort(queues)
	var out []prometheus.Metric
	for _, name := range queues {
		q, err := c.insp.GetQueueInfo(name)
		if err != nil {
			return nil, err
		}
		for state, n := range map[string]int{
			"pending": q.Pending, "active": q.Active, "scheduled": q.Scheduled,
			"retry": q.Retry, "archived": q.Archived, "completed": q.Completed,
		} {
			out = append(out, prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(n), name, state))
		}
		out = append(out, prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, q.Latency.Seconds(), name))
	}
	return out, nil
}

// newBuildInfo is herald_build_info: always 1, labelled with what this
// binary was built from, so a dashboard can show which version each
// replica runs and when a rollout has finished.
func newBuildInfo() prometheus.Collector {
	version, revision := "(devel)", "unknown"
	goVersion := runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				revision = s.Value
			}
		}
	}
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "herald_build_info",
		Help: "Always 1; the labels say which Herald build this process runs.",
	}, []string{"version", "revision", "go_version"})
	g.WithLabelValues(version, revision, goVersion).Set(1)
	return g
}

func (m *Metrics) circuit(p tasks.Provider, account string, open bool) {
	if m == nil {
		return
	}
	v := 0.0
	if open {
		v = 1
	}
	m.circuits.WithLabelValues(string(p), account).Set(v)
}

func (m *Metrics) doubted(p tasks.Provider, typ string, policy string) {
	if m == nil {
		return
	}
	m.inDoubt.WithLabelValues(string(p), typ, policy).Inc()
}

func (m *Metrics) recordRetry(record string) {
	if m == nil {
		return
	}
	m.records.WithLabelValues(record).Inc()
}
