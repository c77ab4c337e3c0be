package jetstream

import (
	"testing"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/hub/enginetest"
)

// TestEngine runs hub's engine suite on an embedded nats-server with file
// storage: durable across a restart.
func TestEngine(t *testing.T) {
	s := startNATS(t)
	enginetest.Run(t, enginetest.Harness{
		Node: func(t *testing.T) hub.Engine {
			e, err := Connect(s.url(), nil)
			if err != nil {
				t.Fatal(err)
			}
			return e
		},
		Restart: s.restart,
		Durable: true,
		Wipe:    s.wipe,
		Scale:   0.5,
	})
}
