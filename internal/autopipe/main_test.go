package autopipe

import (
	"testing"

	"github.com/herald-dispatch/herald/internal/redistest"
)

var srv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &srv) }
