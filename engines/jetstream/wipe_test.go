package jetstream

import (
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/internal/clustertest"
)

// TestWipe: every stream deleted under three nodes with clients of every
// transport hopping between them: each client gets the old entries, then
// exactly one reset to the new epoch, then only new entries; once with
// publishes right after the deletion, once with none until the resets
// came.
func TestWipe(t *testing.T) {
	s := startNATS(t)
	for _, quiet := range []bool{false, true} {
		name := map[bool]string{false: "publishing", true: "quiet"}[quiet]
		t.Run(name, func(t *testing.T) {
			res := clustertest.Wipe(t, &clustertest.WipeOptions{
				Engine: func(t testing.TB) hub.Engine {
					e, err := Connect(s.url(), nil)
					if err != nil {
						t.Fatal(err)
					}
					return e
				},
				Wipe:  func(testing.TB) { s.wipe(t) },
				Quiet: quiet,
			})
			t.Logf("epoch %s, then %s: every client reset once; %v from the deletion to the last client done", res.Old, res.New, res.Took.Round(time.Millisecond))
		})
	}
}
