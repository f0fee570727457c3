package tasks

// prepare validates job and splits it into tasks of one provider call each.
// Jobs whose lists may exceed one call (Easemob push.single targets, EnOS
// messages) are validated as a whole, so errors name the index in the
// caller's list, then cut into parts that each pass Validate.
//
// TODO(contract): splitting is not implemented yet.
func prepare(job Job, env Env) ([]Job, error) {
	if err := job.Validate(env); err != nil {
		return nil, err
	}
	return []Job{job}, nil
}
