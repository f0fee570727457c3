package worker

import (
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/herald-dispatch/herald/providers"
)

// permanent marks err so asynq archives the task at once, with err's text
// as the reason operators see in asynqmon.
func permanent(err error) error {
	return fmt.Errorf("%w (%w)", err, asynq.SkipRetry)
}

// outcome maps a provider error onto what asynq should do with the task:
// permanent errors skip the remaining retries; everything else is returned
// as is and retried, with isFailure and retryDelay deciding whether the
// attempt counts and how long to wait.
func outcome(err error) error {
	if err == nil || errors.Is(err, asynq.SkipRetry) {
		return err
	}
	if providers.ClassOf(err) == providers.Permanent {
		return permanent(err)
	}
	return err
}

// isFailure tells asynq whether an error uses up a retry. Being told "not
// now" by a provider or by our own limiter is not a failure of the job.
func isFailure(err error) bool {
	c := providers.ClassOf(err)
	return c != providers.RateLimited && c != providers.Paused
}

// retryDelay picks the wait before the next attempt: what the provider or
// limiter asked for when rate-limited, otherwise exponential backoff with
// jitter from the retry config.
func (c RetryConfig) retryDelay(n int, err error, _ *asynq.Task) time.Duration {
	if !isFailure(err) {
		if d := providers.RetryAfterOf(err); d > 0 {
			return d
		}
		return time.Second
	}
	return c.backoff(n)
}

// backoff returns the delay before retry n+1 (n counts earlier retries).
func (c RetryConfig) backoff(n int) time.Duration {
	b := c.exponential()
	d := b.NextBackOff()
	for range n {
		d = b.NextBackOff()
	}
	return d
}
