package worker

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/rs/zerolog"
)

// NewLogger returns a JSON logger at the given level ("" means info). Jobs
// log from many goroutines at once, so writes to w are serialised: any
// io.Writer will do.
func NewLogger(w io.Writer, level string) (zerolog.Logger, error) {
	lvl, err := parseLevel(level)
	if err != nil {
		return zerolog.Nop(), err
	}
	return zerolog.New(zerolog.SyncWriter(w)).Level(lvl).With().Timestamp().Logger(), nil
}

func parseLevel(s string) (zerolog.Level, error) {
	switch strings.ToLower(s) {
	case "", "info":
		return zerolog.InfoLevel, nil
	case "debug":
		return zerolog.DebugLevel, nil
	case "warn", "warning":
		return zerolog.WarnLevel, nil
	case "error":
		return zerolog.ErrorLevel, nil
	}
	return zerolog.NoLevel, fmt.Errorf("%q is not one of debug, info, warn, error", s)
}

// asynqLogger routes asynq's own log lines into zerolog.
type asynqLogger struct{ l zerolog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Fatal().Msg(fmt.Sprint(args...)) }

// RedisLog carries go-redis's own messages (a failed dial, a dropped
// pub/sub connection) into zerolog at warn, so that a worker's log stays
// JSON when Redis goes away. go-redis has one logger for the whole
// process: give it this once, in main, with redis.SetLogger.
type RedisLog struct{ Log zerolog.Logger }

// Printf logs one go-redis message.
func (r RedisLog) Printf(_ context.Context, format string, v ...any) {
	r.Log.Warn().Msg(fmt.Sprintf(format, v...))
}
