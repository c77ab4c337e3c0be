package goaway_test

import (
	"context"

	"github.com/pushwire/pushwire/internal/goaway"
	"github.com/pushwire/pushwire/wsproto"
)

// A reader that ends, with a proper close, when ctx does.
func ExampleOnDone() {
	read := func(ctx context.Context, c *wsproto.Conn) error {
		defer goaway.OnDone(ctx, c)()
		for {
			if _, _, err := c.Read(context.Background(), nil); err != nil {
				return err
			}
		}
	}
	_ = read
}
