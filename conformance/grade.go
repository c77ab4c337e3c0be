package conformance

import (
	"fmt"
	"slices"
	"strings"
)

// Grading, as Autobahn|Testsuite's Case.onConnectionLost does it:
//
//   - the behaviour is the outcome of the first expected sequence that
//     equals what was received (messages, pongs and timeout markers, in
//     order), FAILED if none does; cases that grade messages themselves
//     (9.x, 12.x, 13.x) set it directly;
//   - the close is FAILED when the wrong endpoint started the closing
//     handshake; UNCLEAN (FAILED here) when a clean close was required and
//     did not happen; WRONG CODE (NON-STRICT here) when the peer's close
//     code is not one the case allows; FAILED BY CLIENT (NON-STRICT here)
//     when the harness, as the client, had to close the TCP connection
//     the server should have closed; OK otherwise.
//
// On top of Autobahn: a protocol violation by the peer fails the
// behaviour with the rule quoted; with Options.Strict, a SHOULD the peer
// did not follow makes an OK grade NON-STRICT, quoting it.

// grade computes the two grades.
func (s *session) grade() {
	for _, e := range s.expected {
		if equalObs(s.received, e.obs) {
			s.behavior = e.outcome
			s.result = "Actual events match at least one expected."
			break
		}
	}
	if s.behavior == Failed && len(s.expected) > 0 && s.result == "Actual events differ from any expected." {
		s.result = fmt.Sprintf("expected %s, received %s%s", s.expectedText(), summarize(s.received), s.endText())
		if s.c.rule != "" {
			s.result += " (" + s.c.rule + ")"
		}
	}
	exp := s.expClose
	wrongEndpoint := exp.closedByMe != s.closedByMe
	switch {
	case wrongEndpoint && exp.closedByMe:
		s.behaviorClose = Failed
		s.resultClose = "The connection was failed by the wrong endpoint: the peer " + s.peerCloseText() + " where the harness was to close"
		if s.c.rule != "" {
			s.resultClose += " (" + s.c.rule + ")"
		}
	case wrongEndpoint:
		s.behaviorClose = Failed
		s.resultClose = "The connection was failed by the wrong endpoint: the peer did not fail the connection, the harness closed it"
		if s.c.rule != "" {
			s.resultClose += " (" + s.c.rule + ")"
		}
	// A case that expects the peer to fail the connection does not require
	// a clean close (Autobahn's requireClean false): a TCP drop without a
	// close frame passes, since sending one is a SHOULD (ruleFailClose);
	// -strict makes it NON-STRICT.
	case exp.requireClean && !s.wasClean:
		s.behaviorClose = Failed
		s.resultClose = "UNCLEAN: " + s.notClean + " (" + s.uncleanRule() + ")"
	// A close frame without a code passes wherever a code is expected, as
	// in Autobahn: the body is optional (ruleCloseBodyOptional); -strict
	// asks for the code a failing peer SHOULD send (ruleFailClose).
	case s.gotClose && s.remoteCode != 1005 && !slices.Contains(exp.codes, s.remoteCode):
		s.behaviorClose = NonStrict
		s.resultClose = fmt.Sprintf("WRONG CODE: the close code should have been %s or empty, was %d", joinInts(exp.codes), s.remoteCode)
	case !s.isServer && s.droppedByMe:
		s.behaviorClose = NonStrict
		s.resultClose = "FAILED BY CLIENT: the harness (the client) closed the TCP connection; it is preferred that the server close it (" + ruleServerCloseTCP + ")"
	default:
		s.behaviorClose = OK
		s.resultClose = "Connection was properly closed"
	}
	if exp.wrongEndpointFatal && wrongEndpoint {
		s.behavior = Failed
		s.result = s.resultClose
	}
	if len(s.violations) > 0 && s.behavior != Failed {
		s.behavior = Failed
		s.result = "the peer broke a rule: " + s.violations[0]
	} else if len(s.violations) > 0 {
		s.result += "; the peer broke a rule: " + s.violations[0]
	}
	// The case's own adjustments come last, as in Autobahn, where the
	// informational cases override everything.
	if s.onLost != nil {
		s.onLost()
	}
	// A client that receives the agreed permessage-deflate parameters and
	// does not accept them fails the connection at once, before any frame
	// (gorilla's client does so unless the response has both
	// no_context_takeover parameters). It did not take up the extension:
	// UNIMPLEMENTED, as when it is not agreed, not a broken rule.
	if s.mayDecline && s.rxFrames == 0 && !s.gotClose && !s.closedByMe && !s.droppedByMe && len(s.violations) == 0 {
		s.behavior, s.behaviorClose = Unimplemented, Unimplemented
		s.result = "the client closed the TCP connection right after the handshake, without a frame: it did not take up permessage-deflate with the parameters the harness answered"
		s.resultClose = "closed by the client before any frame"
	}
	if s.strict {
		s.gradeStrict()
	}
}

// gradeStrict adds pushwire's stricter checks: each is a SHOULD (or a
// recommendation) of the RFC, so it can only make an OK grade NON-STRICT.
func (s *session) gradeStrict() {
	exp := s.expClose
	// A peer that is to fail the connection (the close codes it may send
	// do not include 1000) SHOULD send a close frame with a status code.
	failing := len(exp.codes) > 0 && !slices.Contains(exp.codes, 1000)
	if failing && s.behaviorClose == OK && s.remoteCode == 0 || failing && s.behaviorClose == OK && s.remoteCode == 1005 {
		what := "dropped the TCP connection without a close frame"
		if s.remoteCode == 1005 {
			what = "sent a close frame without a status code"
		}
		s.behaviorClose = NonStrict
		s.resultClose = fmt.Sprintf("-strict: the peer %s where %s was due (%s)", what, joinInts(exp.codes), ruleFailClose)
	}
	if len(s.strictNotes) > 0 && s.behavior == OK {
		s.behavior = NonStrict
		s.result = "-strict: " + strings.Join(s.strictNotes, "; ")
	}
}

// uncleanRule is the rule an unclean close broke.
func (s *session) uncleanRule() string {
	switch {
	case strings.HasPrefix(s.notClean, "server did not drop"):
		return ruleServerCloseTCP
	case strings.HasSuffix(s.notClean, "the peer broke a rule") && len(s.violations) > 0:
		return s.violations[0]
	}
	return ruleCloseReply
}

// expectedText describes the expected sequences.
func (s *session) expectedText() string {
	var parts []string
	for _, e := range s.expected {
		parts = append(parts, fmt.Sprintf("%s (%s)", summarize(e.obs), e.outcome))
	}
	return strings.Join(parts, " or ")
}

// endText says how the connection ended, for a behaviour reason.
func (s *session) endText() string {
	switch {
	case s.gotClose && !s.closedByMe:
		return fmt.Sprintf("; the peer closed with %s", s.codeText())
	case !s.gotClose && !s.droppedByMe:
		return "; the peer closed the TCP connection without a close frame"
	}
	return ""
}

// peerCloseText says how the peer ended the connection.
func (s *session) peerCloseText() string {
	if s.gotClose {
		return "closed with " + s.codeText()
	}
	return "dropped the TCP connection without a close frame"
}

func (s *session) codeText() string {
	if s.remoteCode == 1005 {
		return "an empty close frame"
	}
	t := fmt.Sprint(s.remoteCode)
	if s.remoteReason != "" {
		t += fmt.Sprintf(" (%q)", s.remoteReason)
	}
	return t
}

func joinInts(xs []int) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, fmt.Sprint(x))
	}
	return strings.Join(parts, ",")
}

// fill writes the grades and the record of the session into res.
func (s *session) fill(res *Result) {
	res.Behavior, res.BehaviorReason = s.behavior, s.result
	res.BehaviorClose, res.CloseReason = s.behaviorClose, s.resultClose
	res.ClosedByMe = s.closedByMe
	if s.gotClose {
		res.RemoteCloseCode, res.RemoteCloseReason = s.remoteCode, s.remoteReason
	}
	if s.dropped > 0 {
		s.events = append(s.events, Event{At: ms(s.since()), Dir: "note", Kind: "note", Text: fmt.Sprintf("%d more events not recorded", s.dropped)})
	}
	res.Events = s.events
}
