package tasks

import "errors"

// A splitter is a job whose list can be longer than one provider call
// takes: Easemob push.single (100 targets a call), DingTalk
// work_notice.send (100 users a call) and EnOS notice.produce (100
// messages a call).
type splitter interface {
	Job
	// validateWhole checks every rule except the per-call limits, so an
	// error names the index in the caller's whole list (targets[203]),
	// not in one of the parts.
	validateWhole() error
	// split cuts the job, in order, into parts that each fit one call.
	// Every other field is shared by the parts. A job that fits one call
	// is returned as is.
	split() []Job
}

// An encodingJob is a job whose rules include the size of its JSON
// (Easemob's 5 KB body), so that validating it encodes it.
// validateEncoded is its Validate returning that JSON as well: it is the
// task's payload, and Enqueue would otherwise encode the job a second
// time.
type encodingJob interface {
	Job
	// validateEncoded returns what Validate returns and, when that is
	// nil, json.Marshal of the job.
	validateEncoded(env Env) ([]byte, error)
}

// validateJob validates job, returning its JSON if validation made it (an
// encodingJob), else nil.
func validateJob(job Job, env Env) ([]byte, error) {
	if e, ok := job.(encodingJob); ok {
		return e.validateEncoded(env)
	}
	return nil, job.Validate(env)
}

// prepare validates job and splits it into tasks of one provider call each.
// A splitter is validated as a whole, then cut into parts that must each
// pass Validate; any other job is validated and returned alone.
func prepare(job Job, env Env) ([]Job, error) {
	parts, _, err := prepareEncoded(job, env)
	return parts, err
}

// prepareEncoded is prepare that also returns each part's JSON where
// validating it made that (see encodingJob); a nil entry is a part the
// caller must encode itself.
func prepareEncoded(job Job, env Env) ([]Job, [][]byte, error) {
	if job == nil {
		return nil, nil, errors.New("tasks: nil job")
	}
	s, ok := job.(splitter)
	if !ok {
		b, err := validateJob(job, env)
		if err != nil {
			return nil, nil, err
		}
		return []Job{job}, [][]byte{b}, nil
	}
	if err := s.validateWhole(); err != nil {
		return nil, nil, err
	}
	parts := s.split()
	payloads := make([][]byte, len(parts))
	for i, p := range parts {
		b, err := validateJob(p, env)
		if err != nil {
			return nil, nil, err
		}
		payloads[i] = b
	}
	return parts, payloads, nil
}
