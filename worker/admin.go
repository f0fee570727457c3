package worker

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hibiken/asynqmon"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
)

// MonitoringPath is where the asynqmon UI is served.
const MonitoringPath = "/monitoring"

// AdminHandler serves the operator endpoints:
//
//	/healthz     the process is up
//	/readyz      Redis answers PING within a second
//	/metrics     Prometheus metrics
//	/monitoring  the asynqmon queue UI (read-only unless configured)
func (w *Worker) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(rw, "ok")
	})
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		if err := w.rdb.Ping(ctx).Err(); err != nil {
			http.Error(rw, "redis unreachable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(rw, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(w.registry, promhttp.HandlerOpts{}))
	if m := w.cfg.Admin.Monitoring; !m.Disabled {
		ui := asynqmon.New(asynqmon.Options{
			RootPath:     MonitoringPath,
			RedisConnOpt: sharedConn{w.rdb},
			ReadOnly:     !m.ReadWrite,
		})
		var h http.Handler = ui
		if m.Password != "" {
			h = basicAuth(m.Username, m.Password, h)
		}
		mux.Handle(MonitoringPath+"/", h)
	}
	return mux
}

func (w *Worker) startAdmin(errc chan<- error) (*http.Server, error) {
	ln, err := net.Listen("tcp", w.cfg.Admin.Addr)
	if err != nil {
		return nil, fmt.Errorf("admin listen %s: %w", w.cfg.Admin.Addr, err)
	}
	srv := &http.Server{Handler: w.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
	w.log.Info().Str("addr", ln.Addr().String()).Str("ui", "http://"+ln.Addr().String()+MonitoringPath).Msg("admin server listening")
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("admin server: %w", err)
		}
	}()
	return srv, nil
}

// sharedConn hands asynqmon the worker's own Redis client instead of a
// second connection pool; asynqmon accepts any asynq.RedisConnOpt.
type sharedConn struct{ c redis.UniversalClient }

func (s sharedConn) MakeRedisClient() any { return s.c }

func basicAuth(user, pass string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(pass)) != 1 {
			rw.Header().Set("WWW-Authenticate", `Basic realm="herald"`)
			http.Error(rw, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(rw, r)
	})
}
