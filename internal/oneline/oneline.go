// Package oneline puts a message on one line, for the places that send an
// error's text to a peer or a terminal: an HTTP error body, a handshake
// rejection, a WebSocket error record, a command's stderr.
package oneline

// Of returns s with every control character (CR, LF and TAB among them)
// replaced by a space, so that it is one line of printable text; s itself
// when it has none.
func Of(s string) string {
	i := 0
	for i < len(s) && !isControl(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if isControl(b[i]) {
			b[i] = ' '
		}
	}
	return string(b)
}

func isControl(c byte) bool { return c < ' ' || c == 0x7f }
