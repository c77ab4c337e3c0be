package backoff_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pushwire/pushwire/internal/backoff"
)

// A client that tries until it succeeds or its context ends.
func ExampleBackoff() {
	ctx := context.Background()
	b := backoff.Backoff{Min: time.Millisecond, Max: 8 * time.Millisecond}
	attempts := 0
	connect := func() error {
		if attempts++; attempts < 3 {
			return errors.New("refused")
		}
		return nil
	}
	for connect() != nil {
		if err := backoff.Sleep(ctx, b.Next()); err != nil {
			return
		}
	}
	fmt.Println("connected after", b.Failures(), "failures")
	// Output: connected after 2 failures
}
