package worker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/herald-dispatch/herald/tasks"
)

// webhookGroup is the consumer group through which workers send webhooks.
// Every replica with webhooks configured joins it, so each event is sent by
// one of them, and an event a stopped replica was sending is taken over by
// another.
const webhookGroup = "herald-webhooks"

// Timing of the webhook consumer. An entry idle in another consumer's
// hands for claimAfter is taken over; a consumer keeps its own entries
// fresh every keepEvery while it retries them.
const (
	claimAfter = time.Minute
	keepEvery  = claimAfter / 3
	// webhookBatch is how many events one read takes, and how many
	// POSTs run at once.
	webhookBatch = 8
)

// webhooks sends each event of an account with a webhook to it, from the
// event stream, apart from delivery: a slow or failing receiver delays
// nothing but its own events.
type webhooks struct {
	rdb      redis.UniversalClient
	stream   string
	hooks    map[string]WebhookConfig
	cfg      WebhookSending
	client   *http.Client
	log      zerolog.Logger
	consumer string
	now      func() time.Time

	mu       sync.Mutex
	inFlight map[string]bool // stream ids being sent by this consumer
}

func newWebhooks(rdb redis.UniversalClient, ev EventsConfig, log zerolog.Logger) *webhooks {
	ev = ev.withDefaults()
	host, _ := os.Hostname()
	stream := ev.Stream
	if stream == "" {
		stream = tasks.DefaultEventStream
	}
	return &webhooks{
		rdb: rdb, stream: stream, hooks: ev.Webhooks, cfg: ev.Webhook,
		client:   &http.Client{Timeout: ev.Webhook.Timeout.D()},
		log:      log.With().Str("component", "webhooks").Logger(),
		consumer: fmt.Sprintf("%s-%d-%s", host, os.Getpid(), rand.Text()[:8]),
		now:      time.Now,
		inFlight: map[string]bool{},
	}
}

// run consumes the stream until ctx is done. Events recorded before the
// group first existed are not sent: a webhook configured today does not
// replay yesterday's stream.
func (h *webhooks) run(ctx context.Context) {
	err := h.rdb.XGroupCreateMkStream(ctx, h.stream, webhookGroup, "$").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		h.log.Warn().Err(err).Msg("create webhook consumer group; retrying as events are read")
	}
	h.log.Info().Int("accounts", len(h.hooks)).Str("stream", h.stream).Msg("sending webhooks")
	sem := make(chan struct{}, webhookBatch)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() { defer wg.Done(); h.keep(ctx) }()

	pause := backoff.NewExponentialBackOff(backoff.WithMaxInterval(10*time.Second), backoff.WithMaxElapsedTime(0))
	lastClaim := time.Time{}
	for ctx.Err() == nil {
		var msgs []redis.XMessage
		var err error
		if time.Since(lastClaim) > keepEvery {
			lastClaim = time.Now()
			msgs, _, err = h.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
				Stream: h.stream, Group: webhookGroup, Consumer: h.consumer,
				MinIdle: claimAfter, Start: "0-0", Count: webhookBatch,
			}).Result()
		}
		if err == nil && len(msgs) == 0 {
			var streams []redis.XStream
			streams, err = h.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
				Group: webhookGroup, Consumer: h.consumer, Streams: []string{h.stream, ">"},
				Count: webhookBatch, Block: time.Second,
			}).Result()
			for _, s := range streams {
				msgs = append(msgs, s.Messages...)
			}
		}
		switch {
		case errors.Is(err, redis.Nil) || ctx.Err() != nil:
			continue
		case err != nil && strings.HasPrefix(err.Error(), "NOGROUP"):
			_ = h.rdb.XGroupCreateMkStream(ctx, h.stream, webhookGroup, "$").Err()
			continue
		case err != nil:
			h.log.Warn().Err(err).Msg("read event stream")
			sleepCtx(ctx, pause.NextBackOff())
			continue
		}
		pause.Reset()
		for _, msg := range msgs {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			h.track(msg.ID, true)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				defer h.track(msg.ID, false)
				if h.send(ctx, msg) {
					if err := h.rdb.XAck(context.WithoutCancel(ctx), h.stream, webhookGroup, msg.ID).Err(); err != nil {
						h.log.Warn().Err(err).Str("event_id", msg.ID).Msg("ack webhook event")
					}
				}
			}()
		}
	}
}

func (h *webhooks) track(id string, on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if on {
		h.inFlight[id] = true
	} else {
		delete(h.inFlight, id)
	}
}

// keep claims this consumer's in-flight entries again now and then, which
// resets their idle time, so that no other replica takes over an event
// that is being retried here.
func (h *webhooks) keep(ctx context.Context) {
	t := time.NewTicker(keepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.mu.Lock()
		ids := make([]string, 0, len(h.inFlight))
		for id := range h.inFlight {
			ids = append(ids, id)
		}
		h.mu.Unlock()
		if len(ids) == 0 {
			continue
		}
		err := h.rdb.XClaimJustID(ctx, &redis.XClaimArgs{
			Stream: h.stream, Group: webhookGroup, Consumer: h.consumer, MinIdle: 0, Messages: ids,
		}).Err()
		if err != nil && ctx.Err() == nil {
			h.log.Warn().Err(err).Msg("keep in-flight webhook events")
		}
	}
}

// send POSTs one event to its account's webhook, retrying with backoff
// until the receiver answers 2xx or GiveUpAfter passes. It reports whether
// the event is done with (sent, given up, or not for a webhook); false
// means the worker is stopping and another consumer should take it over.
func (h *webhooks) send(ctx context.Context, msg redis.XMessage) bool {
	ev, err := tasks.ReadEvent(msg)
	if err != nil {
		h.log.Error().Err(err).Msg("event stream entry is not an event; skipped")
		return true
	}
	hook, ok := h.hooks[ev.Account]
	if !ok {
		return true
	}
	body, err := json.Marshal(ev)
	if err != nil {
		h.log.Error().Err(err).Str("event_id", ev.ID).Msg("encode event")
		return true
	}
	log := h.log.With().Str("event_id", ev.ID).Str("task_id", ev.TaskID).Str("account", ev.Account).Logger()
	b := h.cfg.Retry.exponential()
	b.MaxElapsedTime = h.cfg.GiveUpAfter.D()
	attempt := 0
	err = backoff.RetryNotify(func() error {
		attempt++
		return h.post(ctx, hook, body)
	}, backoff.WithContext(b, ctx), func(err error, wait time.Duration) {
		log.Warn().Err(err).Int("attempt", attempt).Dur("retry_in", wait).Msg("webhook not accepted")
	})
	switch {
	case err == nil:
		log.Debug().Int("attempt", attempt).Msg("webhook sent")
		return true
	case ctx.Err() != nil:
		return false
	}
	log.Error().Err(err).Int("attempts", attempt).Msg("webhook given up; the event stays in the stream")
	return true
}

// post makes one signed POST. Its errors never quote the secret.
func (h *webhooks) post(ctx context.Context, hook WebhookConfig, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(body))
	if err != nil {
		return backoff.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Herald-Webhook/1")
	req.Header.Set(tasks.SignatureHeader, tasks.SignWebhook(body, h.now(), []byte(hook.Secret)))
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// exponential is the retry config as a cenkalti backoff, reset.
func (c RetryConfig) exponential() *backoff.ExponentialBackOff {
	b := &backoff.ExponentialBackOff{
		InitialInterval:     c.Initial.D(),
		RandomizationFactor: c.Jitter,
		Multiplier:          c.Multiplier,
		MaxInterval:         c.Max.D(),
		Stop:                backoff.Stop,
		Clock:               backoff.SystemClock,
	}
	b.Reset()
	return b
}
