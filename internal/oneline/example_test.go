package oneline_test

import (
	"fmt"

	"github.com/pushwire/pushwire/internal/oneline"
)

func ExampleOf() {
	fmt.Printf("%q\n", oneline.Of("upstream said:\r\n500 Internal Server Error"))
	// Output: "upstream said:  500 Internal Server Error"
}
