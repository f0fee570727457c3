package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/herald-dispatch/herald/httpapi"
	"github.com/herald-dispatch/herald/tasks"
)

// APIHandler is the HTTP API (package httpapi) as this worker serves it:
// its producer validates Easemob startDates in each account's zone, as the
// worker reads them.
func (w *Worker) APIHandler() http.Handler {
	// A job cancelled through the API is recorded in the workers' stream.
	opts := []tasks.ProducerOption{tasks.WithEvents(w.cfg.Events.Stream), tasks.WithShards(max(w.cfg.Shards, 1))}
	for _, name := range sortedKeys(w.cfg.Easemob) {
		if loc, err := w.cfg.Easemob[name].Location(); err == nil {
			opts = append(opts, tasks.WithAccountZone(name, loc))
		}
	}
	return httpapi.New(tasks.NewProducer(w.rdb, opts...), w.rdb, httpapi.Options{
		Tokens:       w.cfg.API.TokenList(),
		MaxBodyBytes: w.cfg.API.BodyLimit(),
		Log:          w.log.With().Str("component", "api").Logger(),
	})
}

// startAPI serves the API on its own listener when configured, reporting a
// failure while serving on errc. stop shuts it down.
func (w *Worker) startAPI(errc chan<- error) (stop func(), err error) {
	if !w.cfg.API.Enabled() {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", w.cfg.API.Addr)
	if err != nil {
		return nil, fmt.Errorf("api listen %s: %w", w.cfg.API.Addr, err)
	}
	srv := &http.Server{Handler: w.APIHandler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	w.log.Info().Str("addr", ln.Addr().String()).Int("tokens", len(w.cfg.API.TokenList())).
		Str("openapi", "http://"+ln.Addr().String()+"/v1/openapi.yaml").Msg("api server listening")
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("api server: %w", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			w.log.Warn().Err(err).Msg("api server shutdown")
		}
	}, nil
}
