package main

import (
	"fmt"
	"io"

	"github.com/herald-dispatch/herald/providers/easemob/easemobsim"
	"github.com/herald-dispatch/herald/worker"
)

// demoFaults gives the demo a failure path for the queue UI: the Easemob
// simulator answers push.async with a burst of three 503s, which the worker
// retries with backoff until the fourth call delivers, and push.label with
// a permanent 400, which archives that job with the provider's reason. It
// returns how many tasks end archived on purpose.
func demoFaults(d *worker.Demo, out io.Writer) int {
	d.Easemob.Inject(easemobsim.Fault{Kind: easemobsim.FaultStatus, Status: 503, Endpoint: easemobsim.PushAsync, Count: 3})
	d.Easemob.Inject(easemobsim.Fault{Kind: easemobsim.FaultStatus, Status: 400, Endpoint: easemobsim.PushLabel, Count: 1})
	fmt.Fprintln(out, "Faults on: Easemob answers push.async with three 503s (retried with backoff, then delivered)")
	fmt.Fprintln(out, "and push.label with a 400 (archived with the provider's reason).")
	fmt.Fprintln(out)
	return 1
}
