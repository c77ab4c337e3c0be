package frame_test

import (
	"errors"
	"fmt"

	"github.com/pushwire/pushwire/wsproto/frame"
)

func ExampleMask() {
	// RFC 6455 §5.7's masked "Hello", masked in two pieces: the second
	// piece resumes at the key offset the first returned.
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	payload := []byte("Hello")
	pos := frame.Mask(key, 0, payload[:2])
	pos = frame.Mask(key, pos, payload[2:])
	fmt.Printf("masked:   % x (next offset %d)\n", payload, pos)

	frame.Mask(key, 0, payload) // masking again unmasks
	fmt.Printf("unmasked: %s\n", payload)
	// Output:
	// masked:   7f 9f 4d 51 58 (next offset 1)
	// unmasked: Hello
}

func ExamplePutHeader() {
	h := frame.Header{
		Fin:    true,
		Opcode: frame.OpText,
		Masked: true,
		Mask:   [4]byte{0x37, 0xfa, 0x21, 0x3d},
		Length: 300,
	}
	var buf [frame.MaxHeaderSize]byte
	n := frame.PutHeader(buf[:], h)
	fmt.Printf("% x\n", buf[:n])

	got, err := frame.ParseHeader(buf[:n])
	fmt.Println(got == h, err)
	// Output:
	// 81 fe 01 2c 37 fa 21 3d
	// true <nil>
}

func ExampleParseClosePayload() {
	for _, p := range [][]byte{
		{0x03, 0xe9, 'b', 'y', 'e'}, // 1001, "bye"
		{},                          // no status code
		{0x03, 0xed},                // 1005 may not be sent
		{0x03, 0xe8, 0xff},          // reason is not UTF-8
	} {
		ce, err := frame.ParseClosePayload(p)
		switch {
		case errors.Is(err, frame.ErrProtocol):
			fmt.Println("fail with 1002:", err)
		case errors.Is(err, frame.ErrInvalidUTF8):
			fmt.Println("fail with 1007:", err)
		default:
			fmt.Println(ce)
		}
	}
	// Output:
	// wsproto: closed: 1001 (going away): bye
	// wsproto: closed: 1005 (no status received)
	// fail with 1002: wsproto: protocol error: close frame has status code 1005 (no status received), which may not be sent
	// fail with 1007: wsproto: invalid UTF-8: close reason "\xff"
}

func ExampleUTF8Validator() {
	// "€" is e2 82 ac; a text message may split it across frames.
	var v frame.UTF8Validator
	fmt.Println(v.Write([]byte("price: \xe2\x82")), v.Done())
	fmt.Println(v.Write([]byte("\xac")), v.Done())

	// A surrogate fails at its second byte, before the message ends.
	v.Reset()
	fmt.Println(v.Write([]byte("\xed")), v.Write([]byte("\xa0")))
	// Output:
	// true false
	// true true
	// true false
}
