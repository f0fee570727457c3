package worker_test

import (
	"os"
	"testing"

	"github.com/herald-dispatch/herald/internal/redistest"
)

var srv *redistest.Server

func TestMain(m *testing.M) {
	srv = redistest.MustStart()
	code := m.Run()
	srv.Stop()
	os.Exit(code)
}
