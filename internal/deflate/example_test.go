package deflate_test

import (
	"bytes"
	"compress/flate"
	"fmt"

	"github.com/pushwire/pushwire/internal/deflate"
)

// Two messages on a connection with context takeover: the second refers
// to the first and compresses to a few bytes.
func Example() {
	var enc deflate.Encoder // 15-bit window, context takeover
	var dec deflate.Decoder
	msg := []byte(`{"type":"presence","user":"ada","status":"online","rooms":["general","ops"]}`)

	first := enc.AppendMessage(nil, msg)
	second := enc.AppendMessage(nil, msg)
	fmt.Println(len(msg), "bytes compress to", len(first), "then", len(second))

	for _, payload := range [][]byte{first, second} {
		got, err := dec.AppendMessage(nil, payload, 1<<20)
		fmt.Println(bytes.Equal(got, msg), err)
	}
	// Output:
	// 76 bytes compress to 67 then 5
	// true <nil>
	// true <nil>
}

// A message written in pieces, as a streaming writer sends it: Append
// returns the compressed bytes that are ready (none until 64 KiB of input
// or Finish), Finish the rest.
func ExampleEncoder_Append() {
	enc, err := deflate.NewEncoder(10, true) // 1 KiB window, no context takeover
	if err != nil {
		panic(err)
	}
	var payload []byte
	for _, part := range []string{"Hello, ", "Hello, ", "world"} {
		payload = enc.Append(payload, []byte(part))
	}
	payload = enc.Finish(payload)

	dec, _ := deflate.NewDecoder(10, true)
	got, err := dec.AppendMessage(nil, payload, 100)
	fmt.Printf("%q %v\n", got, err)
	// Output:
	// "Hello, Hello, world" <nil>
}

// TrimSyncTail turns the output of compress/flate's Flush into a
// permessage-deflate payload: here a stored block, the example of RFC 7692
// §7.2.3.3.
func ExampleTrimSyncTail() {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	fw.Write([]byte("Hello"))
	fw.Flush()
	payload, ok := deflate.TrimSyncTail(buf.Bytes())
	fmt.Printf("% x %v\n", payload, ok)
	// Output:
	// 00 05 00 fa ff 48 65 6c 6c 6f 00 true
}
