package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/pushwire/pushwire/internal/oneline"
	"github.com/pushwire/pushwire/sseproto"
)

const sseUsage = "usage: pushwire sse [-json] [-n N] [-last-event-id ID] URL"

// errEnough ends the client once -n events have arrived.
var errEnough = errors.New("enough events")

// sseJSON is the -json output: one object per dispatched event, with the
// names of the MessageEvent attributes.
type sseJSON struct {
	Type        string `json:"type"`
	Data        string `json:"data"`
	LastEventID string `json:"lastEventId"`
}

// runSSE implements `pushwire sse [-json] [-n N] [-last-event-id ID] URL`;
// args exclude "sse"; returns the exit code: 0 after N events or when the
// server answers 204 No Content, 1 on a fatal error (with a one-line
// reason on stderr), 2 on bad usage, 130 when ctx is cancelled (a signal).
func runSSE(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, `print one JSON object per event: {"type":…,"data":…,"lastEventId":…}`)
	limit := fs.Int("n", 0, "exit after `N` events (0: no limit)")
	lastID := fs.String("last-event-id", "", "resume after the event with this `ID` (sent as Last-Event-ID)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, sseUsage)
		fs.PrintDefaults()
	}
	if ok, code := parseFlags(fs, args, 1); !ok {
		return code
	}
	if *limit < 0 {
		fmt.Fprintln(stderr, sseUsage)
		return 2
	}

	opts := &sseproto.ClientOptions{LastEventID: *lastID}
	if !*asJSON {
		opts.OnStateChange = func(s sseproto.State, err error) {
			if s == sseproto.Connecting && err != nil {
				fmt.Fprintf(stderr, "pushwire sse: reconnecting: %s\n", oneline.Of(err.Error()))
			}
		}
	}
	c, err := sseproto.NewClient(fs.Arg(0), opts)
	if err != nil {
		fmt.Fprintf(stderr, "pushwire sse: %s\n", oneline.Of(err.Error()))
		return 1
	}

	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	count := 0
	err = c.Run(ctx, func(ev sseproto.Event) error {
		var err error
		if *asJSON {
			err = enc.Encode(sseJSON{Type: ev.Type, Data: ev.Data, LastEventID: ev.ID})
		} else {
			_, err = io.WriteString(stdout, formatEvent(ev))
		}
		if err != nil {
			return err
		}
		count++
		if *limit > 0 && count >= *limit {
			return errEnough
		}
		return nil
	})
	switch {
	case err == nil, errors.Is(err, errEnough):
		return 0
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return 130
	default:
		fmt.Fprintf(stderr, "pushwire sse: %s\n", oneline.Of(err.Error()))
		return 1
	}
}

// formatEvent renders an event for people: "type #id: data", with the
// further lines of the data indented, and control characters escaped so
// that a server cannot drive the terminal.
func formatEvent(ev sseproto.Event) string {
	var b strings.Builder
	b.WriteString(visible(ev.Type))
	if ev.ID != "" {
		b.WriteString(" #")
		b.WriteString(visible(ev.ID))
	}
	b.WriteString(":")
	for i, line := range strings.Split(ev.Data, "\n") {
		if i > 0 {
			b.WriteString("\n ")
		}
		b.WriteString(" ")
		b.WriteString(visible(line))
	}
	b.WriteString("\n")
	return b.String()
}

// visible escapes control characters other than tab.
func visible(s string) string {
	if !strings.ContainsFunc(s, isHidden) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isHidden(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isHidden(r rune) bool { return r != '\t' && unicode.IsControl(r) }
