package redis_test

import (
	"context"
	"net/http"

	"github.com/pushwire/pushwire/engines/redis"
	"github.com/pushwire/pushwire/httpstream"
	"github.com/pushwire/pushwire/hub"
)

// Serve a chat log kept in Redis Streams, as every node of a cluster
// does: each node opens the same topic on the same Redis, and clients may
// move between nodes with their cursors. (The README's snippet.)
func Example() {
	serve := func(ctx context.Context, mux *http.ServeMux) error {
		eng, err := redis.Connect("redis://127.0.0.1:6379", nil)
		if err != nil {
			return err
		}
		defer eng.Close()
		chat, err := hub.OpenTopic(ctx, eng, "chat", nil) // one tail per node feeds its clients
		if err != nil {
			return err
		}
		defer chat.Close()
		mux.Handle("/chat", httpstream.NewHandler(chat, nil))
		<-ctx.Done()
		return nil
	}
	_ = serve
}
