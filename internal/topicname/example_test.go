package topicname_test

import (
	"fmt"

	"github.com/pushwire/pushwire/internal/topicname"
)

func ExampleMap() {
	fmt.Println(topicname.Map("chat/room 1", "pw-", "pwh-", 64))
	// Output: pw-chat_2froom_201
}
