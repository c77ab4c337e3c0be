package hub_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/pushwire/pushwire/hub"
)

// Publish a few entries and read them after a cursor, the way a long poll
// does: the client sends the cursor it got last time and gets the entries
// after it and the next cursor.
func ExampleTopic_ReadAfter() {
	ctx := context.Background()
	h := hub.New(nil)
	defer h.Close()
	news, _ := h.Topic("news", nil)
	for _, msg := range []string{"one", "two", "three", "four"} {
		seq, _ := news.Publish(ctx, "", []byte(msg))
		fmt.Println("published", seq, msg)
	}

	// The client's last cursor, as sent in a query parameter.
	c, err := hub.ParseCursor("2")
	if err != nil {
		fmt.Println(err)
		return
	}
	buf := make([]hub.Entry, 16)
	n, next, err := news.ReadAfter(ctx, c, buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range buf[:n] {
		fmt.Printf("id %d: %s\n", e.Seq, e.Data)
	}
	// The next cursor is "EPOCH:4": the topic's epoch, then the sequence
	// number. A client keeps it as an opaque string.
	seq, _ := next.Seq()
	fmt.Println("next cursor after", seq, "in this topic's epoch:", next.Epoch() == news.Epoch())
	// Output:
	// published 1 one
	// published 2 two
	// published 3 three
	// published 4 four
	// id 3: three
	// id 4: four
	// next cursor after 4 in this topic's epoch: true
}

// A client that comes back after the log dropped the entries it missed is
// told so, with how many are lost, instead of silently skipping ahead.
func ExampleGapError() {
	ctx := context.Background()
	t := hub.NewTopic(&hub.TopicOptions{MaxEntries: 3})
	for i := 1; i <= 10; i++ {
		t.Publish(ctx, "tick", fmt.Appendf(nil, "tick %d", i))
	}

	buf := make([]hub.Entry, 16)
	_, next, err := t.ReadAfter(ctx, hub.After(4), buf)
	var gap hub.GapError
	if errors.As(err, &gap) {
		fmt.Printf("lost %d entries; oldest held is %d\n", gap.Lost, gap.Oldest)
	}
	fmt.Println(err)

	// Continue from the cursor the read returned, after the gap.
	n, _, _ := t.ReadAfter(ctx, next, buf)
	for _, e := range buf[:n] {
		fmt.Printf("id %d event %s: %s\n", e.Seq, e.Type, e.Data)
	}
	// Output:
	// lost 3 entries; oldest held is 8
	// hub: gap: 3 entries after 4 are no longer held, oldest held is 8
	// id 8 event tick: tick 8
	// id 9 event tick: tick 9
	// id 10 event tick: tick 10
}

// A streaming transport subscribes from the client's cursor and writes each
// entry as it comes; the entry's Seq is the event id the client resumes
// from.
func ExampleTopic_Subscribe() {
	ctx := context.Background()
	t := hub.NewTopic(nil)
	t.Publish(ctx, "greeting", []byte("hello"))
	t.Publish(ctx, "greeting", []byte("world"))
	t.Close() // readers still get everything published before the close

	sub, _ := t.Subscribe(ctx, hub.FromOldest())
	defer sub.Close()
	for {
		e, err := sub.Next(ctx)
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Printf("id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Type, e.Data)
	}
	// Output:
	// id: 1
	// event: greeting
	// data: hello
	//
	// id: 2
	// event: greeting
	// data: world
	//
	// hub: closed
}

// Cursors travel as strings: the empty string means "from now".
func ExampleParseCursor() {
	for _, s := range []string{"", "oldest", "42", "k3x9:42", "042", "-1", "k3.x:42"} {
		c, err := hub.ParseCursor(s)
		if err != nil {
			fmt.Printf("%q: %v\n", s, err)
			continue
		}
		seq, ok := c.Seq()
		fmt.Printf("%q: cursor %q, seq %d %v\n", s, c, seq, ok)
	}
	// Output:
	// "": cursor "", seq 0 false
	// "oldest": cursor "oldest", seq 0 false
	// "42": cursor "42", seq 42 true
	// "k3x9:42": cursor "k3x9:42", seq 42 true
	// "042": hub: malformed cursor: "042": leading zero
	// "-1": hub: malformed cursor: "-1": byte 0 is not a decimal digit
	// "k3.x:42": hub: malformed cursor: "k3.x:42": malformed epoch
}

// A client that kept a cursor of a log that is gone (an in-memory log
// before its process restarted) is told so once, with where to go on,
// instead of an error it would retry forever.
func ExampleResetError() {
	ctx := context.Background()
	before := hub.NewTopic(nil)
	before.Publish(ctx, "chat", []byte("said before the restart"))
	_, cursor, _ := before.ReadAfter(ctx, hub.FromNow(), nil)

	after := hub.NewTopic(nil) // the restarted process: a new epoch
	after.Publish(ctx, "chat", []byte("said after the restart"))

	buf := make([]hub.Entry, 16)
	_, next, err := after.ReadAfter(ctx, cursor, buf)
	var reset hub.ResetError
	if errors.As(err, &reset) {
		fmt.Println("reset: new epoch", reset.Epoch == after.Epoch(), "resume after", reset.After)
	}
	n, _, _ := after.ReadAfter(ctx, next, buf)
	for _, e := range buf[:n] {
		fmt.Printf("id %d: %s\n", e.Seq, e.Data)
	}
	// Output:
	// reset: new epoch true resume after 0
	// id 1: said after the restart
}

// Two nodes on one engine share one log: what one publishes, the other
// reads, with the same sequence numbers and epoch. MemoryEngine shares
// within a process; engines/jetstream and others share between machines.
func ExampleOpenTopic() {
	ctx := context.Background()
	engine := hub.NewMemoryEngine()
	defer engine.Close()
	a, _ := hub.OpenTopic(ctx, engine, "chat", nil)
	defer a.Close()
	b, _ := hub.OpenTopic(ctx, engine, "chat", nil)
	defer b.Close()

	sub, _ := b.Subscribe(ctx, hub.FromNow())
	defer sub.Close()
	a.Publish(ctx, "chat", []byte("hello from a"))
	e, _ := sub.Next(ctx)
	fmt.Printf("b got %d: %s, same epoch: %v\n", e.Seq, e.Data, a.Epoch() == b.Epoch())
	// Output:
	// b got 1: hello from a, same epoch: true
}
