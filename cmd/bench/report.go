package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

type report struct {
	opts                  options
	loadBefore, loadAfter string
	started               time.Time
	took                  time.Duration
	dispatch              [][]dispatchResult // by variant: bare, no limits, limits
	enqueue               [2][]float64       // asynq.Client, tasks.Producer
	sched                 [2]lateness        // bare, herald
	rss                   [2]rssResult       // bare, herald
	cluster               []clusterResult    // by shard count
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func (r report) print(out io.Writer) {
	o := r.opts
	fmt.Fprintf(out, "Herald vs bare asynq: easemob push.async on the simulator, concurrency %d, %d interleaved round(s)\n", o.concurrency, o.rounds)
	fmt.Fprintf(out, "machine: %s/%s, %d CPUs, %s; load average %s before, %s after; took %v\n\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), r.loadBefore, r.loadAfter, r.took.Round(time.Second))

	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	row("", "bare asynq", "herald, no limits", "herald, limits on")
	med := func(f func(dispatchResult) float64) []float64 {
		out := make([]float64, len(r.dispatch))
		for i, rs := range r.dispatch {
			xs := make([]float64, len(rs))
			for j, x := range rs {
				xs[j] = f(x)
			}
			out[i] = median(xs)
		}
		return out
	}
	rates := med(func(d dispatchResult) float64 { return d.perSec })
	per := func(i int) string {
		var s []string
		for _, d := range r.dispatch[i] {
			s = append(s, fmt.Sprintf("%.0f", d.perSec))
		}
		return strings.Join(s, " ")
	}
	row(fmt.Sprintf("dispatch jobs/s (median of %d × %d jobs)", o.rounds, o.jobs), fmt.Sprintf("%.0f", rates[0]), fmt.Sprintf("%.0f", rates[1]), fmt.Sprintf("%.0f", rates[2]))
	row("  each round", per(0), per(1), per(2))
	row("  ratio to bare", "1.00", fmt.Sprintf("%.2f", rates[1]/rates[0]), fmt.Sprintf("%.2f", rates[2]/rates[0]))
	f1 := func(xs []float64) []string {
		out := make([]string, len(xs))
		for i, x := range xs {
			out[i] = fmt.Sprintf("%.1f", x)
		}
		return out
	}
	row(append([]string{"Redis round trips / job"}, f1(med(func(d dispatchResult) float64 { return d.tripsPerJob }))...)...)
	row(append([]string{"Redis commands / job"}, f1(med(func(d dispatchResult) float64 { return d.cmdsPerJob }))...)...)
	cpu := med(func(d dispatchResult) float64 { return float64(d.cpuPerJob.Microseconds()) })
	kept := med(func(d dispatchResult) float64 { return d.keptPerJob })
	row("Redis memory kept / job (bytes)", fmt.Sprintf("%.0f", kept[0]), fmt.Sprintf("%.0f", kept[1]), fmt.Sprintf("%.0f", kept[2]))
	row("Redis server CPU µs / job", fmt.Sprintf("%.0f", cpu[0]), fmt.Sprintf("%.0f", cpu[1]), fmt.Sprintf("%.0f", cpu[2]))
	row("  ratio to bare", "1.00", fmt.Sprintf("%.2f", cpu[1]/cpu[0]), fmt.Sprintf("%.2f", cpu[2]/cpu[0]))
	proc := med(func(d dispatchResult) float64 { return float64(d.procPerJob.Microseconds()) })
	row("bench process CPU µs / job", fmt.Sprintf("%.0f", proc[0]), fmt.Sprintf("%.0f", proc[1]), fmt.Sprintf("%.0f", proc[2]))
	row("  (server + simulator) ratio", "1.00", fmt.Sprintf("%.2f", proc[1]/proc[0]), fmt.Sprintf("%.2f", proc[2]/proc[0]))
	row(append([]string{"  context switches / job"}, f1(med(func(d dispatchResult) float64 { return d.switchesPerJob }))...)...)
	allocs := med(func(d dispatchResult) float64 { return d.allocsPerJob })
	row("  heap allocations / job", fmt.Sprintf("%.0f", allocs[0]), fmt.Sprintf("%.0f", allocs[1]), fmt.Sprintf("%.0f", allocs[2]))
	tw.Flush()
	fmt.Fprintln(out)

	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	row = func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	ec, ep := median(r.enqueue[0]), median(r.enqueue[1])
	ratios := make([]float64, len(r.enqueue[0]))
	for i := range ratios {
		ratios[i] = r.enqueue[1][i] / r.enqueue[0][i]
	}
	row("", "asynq.Client", "tasks.Producer", "ratio (median of pairs)")
	row(fmt.Sprintf("enqueue/s (median of %d pairs × %d, 4 goroutines)", len(ratios), o.enqueue), fmt.Sprintf("%.0f", ec), fmt.Sprintf("%.0f", ep), fmt.Sprintf("%.2f", median(ratios)))
	slices.Sort(ratios)
	row("  pair ratios, lowest and highest", "", "", fmt.Sprintf("%.2f %.2f", ratios[0], ratios[len(ratios)-1]))
	tw.Flush()
	fmt.Fprintln(out)

	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	row = func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	row(fmt.Sprintf("scheduled: %d jobs due over %v", o.schedJobs, o.schedSpan), "early (max)", "p50 late", "p99 late", "max late")
	for i, name := range []string{"bare asynq (ProcessAt, 1 s poll)", "herald (DeliverAt)"} {
		l := r.sched[i]
		row(name, fmt.Sprintf("%d (%s)", l.early, ms(l.maxEarly)), ms(l.p50), ms(l.p99), ms(l.maxLate))
	}
	tw.Flush()
	fmt.Fprintln(out)

	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	row = func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	mb := func(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }
	row("RSS of a worker process", "idle", fmt.Sprintf("%d in flight", o.rssJobs))
	for i, name := range []string{"bare asynq", "herald, limits on"} {
		row(name, mb(r.rss[i].idle), mb(r.rss[i].busy))
	}
	tw.Flush()
	if len(r.cluster) == 0 {
		return
	}
	fmt.Fprintln(out)

	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	row = func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	row(fmt.Sprintf("%d-master cluster: herald, limits on, %d jobs of %d accounts", clusterMasters, o.jobs, clusterAccounts), "jobs/s", "commands / job", "masters' shares of the commands")
	for _, c := range r.cluster {
		var shares []string
		for _, s := range c.shares {
			shares = append(shares, fmt.Sprintf("%.0f%%", 100*s))
		}
		row(fmt.Sprintf("%d shard(s)", c.shards), fmt.Sprintf("%.0f", c.perSec), fmt.Sprintf("%.1f", c.cmdsPerJob), strings.Join(shares, " "))
	}
	tw.Flush()
}

// printCommands prints one dispatch run's Redis commands, most time first:
// calls per job and microseconds per call.
func printCommands(w io.Writer, variant string, jobs int, by map[string]commandStat) {
	names := slices.Collect(maps.Keys(by))
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(by[b].usec, by[a].usec) })
	fmt.Fprintf(w, "%s: Redis commands per job\n", variant)
	for _, name := range names {
		st := by[name]
		if st.calls == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-22s %6.2f/job %7.2f µs/call %7.2f µs/job\n", name, float64(st.calls)/float64(jobs), float64(st.usec)/float64(st.calls), float64(st.usec)/float64(jobs))
	}
}
