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

// prepare validates job and splits it into tasks of one provider call each.
// A splitter is validated as a whole, then cut into parts that must each
// pass Validate; any other job is validated and returned alone.
func prepare(job Job, env Env) ([]Job, error) {
	if job == nil {
		return nil, errors.New("tasks: nil job")
	}
	s, ok := job.(splitter)
	if !ok {
		if err := job.Validate(env); err != nil {
			return nil, err
		}
		return []Job{job}, nil
	}
	if err := s.validateWhole(); err != nil {
		return nil, err
	}
	parts := s.split()
	for _, p := range parts {
		if err := p.Validate(env); err != nil {
			return nil, err
		}
	}
	return parts, nil
}
