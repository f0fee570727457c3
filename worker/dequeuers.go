package worker

// An asynq server takes one task at a time from Redis, each a round trip
// (plus the wait for a CPU on a busy machine), so that trip, not the
// slots, caps how many jobs a second one server starts. A worker therefore
// runs a server per jobsPerDequeuer slots, each taking tasks on its own, up
// to maxDequeuers: every server also runs asynq's background loops
// (heartbeat, recoverer, forwarder, a pub/sub connection for
// cancellations), which cost Redis and memory whether busy or not.
const (
	jobsPerDequeuer = 10
	maxDequeuers    = 4
)

// splitConcurrency shares n slots over the worker's asynq servers, as
// evenly as whole numbers allow: 20 is 10 and 10, 25 is 13 and 12, 1000 is
// four of 250.
func splitConcurrency(n int) []int {
	k := min(maxDequeuers, max(1, n/jobsPerDequeuer))
	out := make([]int, k)
	for i := range out {
		out[i] = n / k
		if i < n%k {
			out[i]++
		}
	}
	return out
}
