package handshake

import (
	"errors"
	"testing"

	"github.com/pushwire/pushwire/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// asType is errors.As returning the match, for tests.
func asType[T error](err error) (T, bool) {
	var t T
	ok := errors.As(err, &t)
	return t, ok
}
