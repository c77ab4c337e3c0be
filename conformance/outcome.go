package conformance

import "fmt"

// Outcome is the grade of one aspect of a case, as Autobahn|Testsuite
// defines them.
type Outcome int

// Outcomes, from best to worst. The zero value is OK.
const (
	// OK: the peer did what the specification requires.
	OK Outcome = iota
	// Informational: the specification leaves the behaviour open; it is
	// recorded, not judged.
	Informational
	// Unimplemented: the peer declined an optional feature the case needs
	// (permessage-deflate).
	Unimplemented
	// NonStrict: the peer did what the specification allows but not what it
	// recommends (SHOULD), or failed later than it could have (fail-fast).
	NonStrict
	// Failed: the peer broke a MUST of the specification.
	Failed
)

var outcomeNames = [...]string{"OK", "INFORMATIONAL", "UNIMPLEMENTED", "NON-STRICT", "FAILED"}

// String returns the outcome's name as Autobahn spells it: "OK",
// "INFORMATIONAL", "UNIMPLEMENTED", "NON-STRICT" or "FAILED".
func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return fmt.Sprintf("Outcome(%d)", int(o))
	}
	return outcomeNames[o]
}

// MarshalText encodes the outcome as its name.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText decodes an outcome name.
func (o *Outcome) UnmarshalText(b []byte) error {
	for i, n := range outcomeNames {
		if n == string(b) {
			*o = Outcome(i)
			return nil
		}
	}
	return fmt.Errorf("conformance: unknown outcome %q", b)
}

// worse returns the worse of a and b.
func worse(a, b Outcome) Outcome {
	if b > a {
		return b
	}
	return a
}
