package worker

// jobsPerDequeuer is how many of a worker's slots one asynq server serves.
// An asynq server takes one task at a time from Redis, each a round trip
// (plus the wait for a CPU on a busy machine), so that trip, not the
// slots, caps how many jobs a second one server starts; a worker runs a
// server per jobsPerDequeuer slots, and each takes tasks on its own.
const jobsPerDequeuer = 10

// splitConcurrency shares n slots over the worker's asynq servers, as
// evenly as whole numbers allow: 20 is 10 and 10, 25 is 13 and 12.
func splitConcurrency(n int) []int {
	k := max(1, n/jobsPerDequeuer)
	out := make([]int, k)
	for i := range out {
		out[i] = n / k
		if i < n%k {
			out[i]++
		}
	}
	return out
}
