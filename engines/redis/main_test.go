package redis

import (
	"context"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pushwire/pushwire/internal/leakcheck"
)

func TestMain(m *testing.M) {
	// The tests kill servers on purpose: go-redis's reports of failed
	// dials are expected, not news.
	goredis.SetLogger(quiet{})
	leakcheck.Main(m)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}
