package worker

// growStack grows the calling goroutine's stack to 32 KB at once. asynq
// runs each task on a new goroutine, whose stack starts small; a job's
// deepest path (an HTTP call under the middleware, the dispatcher and a
// Redis pipeline) outgrows it twice, and each growth copies the whole
// stack and walks every frame on it. Growing once, while the stack is
// still shallow, costs a fraction of that (the same trick as CockroachDB's
// growstack package).
//
//go:noinline
func growStack() {
	var buf [16 << 10]byte
	sink(buf[:])
}

//go:noinline
func sink([]byte) {}
