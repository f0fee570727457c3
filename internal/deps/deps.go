// Package deps pins the chosen stack in go.mod while the packages that use
// it are being written. Delete it once every dependency has a real importer.
package deps

import (
	_ "github.com/alicebob/miniredis/v2"
	_ "github.com/cenkalti/backoff/v4"
	_ "github.com/go-redis/redis_rate/v10"
	_ "github.com/hibiken/asynq"
	_ "github.com/hibiken/asynqmon"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/rs/zerolog"
	_ "gopkg.in/yaml.v3"
)
