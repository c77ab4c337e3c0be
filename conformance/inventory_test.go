package conformance

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// autobahnInventory reads testdata/autobahn-cases.txt: Autobahn's case
// ids in its order, each with the facts of the generated cases.
func autobahnInventory(t *testing.T) (ids []string, facts map[string]string) {
	t.Helper()
	f, err := os.Open("testdata/autobahn-cases.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	facts = map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, fact, _ := strings.Cut(line, "\t")
		ids = append(ids, id)
		facts[id] = fact
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ids, facts
}

// TestAutobahnInventory checks that categories 1-13 of the catalogue are
// Autobahn's 517 cases, in its order, in both roles, and that the
// generated ones carry Autobahn's payloads and codes.
func TestAutobahnInventory(t *testing.T) {
	want, facts := autobahnInventory(t)
	if len(want) != 517 {
		t.Fatalf("the inventory lists %d cases, want Autobahn's 517", len(want))
	}
	for _, r := range []Role{RoleServer, RoleClient} {
		var got []string
		for _, c := range Cases(r) {
			if compareIDs(c.ID, "14") < 0 {
				got = append(got, c.ID)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s role: categories 1-13 = %d cases, want Autobahn's %d in its order; first difference at %d", r, len(got), len(want), firstDiffStr(got, want))
		}
	}
	// 6.5-6.23: Kuhn's sequences, valid or not, byte for byte.
	for gi, g := range kuhnGroups() {
		for i, sq := range g.seqs {
			id := fmt.Sprintf("6.%d.%d", gi+5, i+1)
			valid, hexp, _ := strings.Cut(facts[id], " ")
			if got := map[bool]string{true: "valid", false: "invalid"}[sq.valid]; got != valid {
				t.Errorf("case %s is %s, Autobahn's is %s", id, got, valid)
			}
			if got := hex.EncodeToString(sq.data); got != hexp {
				t.Errorf("case %s payload = %s, Autobahn's is %s", id, got, hexp)
			}
		}
	}
	// 7.7.x and 7.9.x: the close codes.
	for _, c := range Cases(RoleServer) {
		if fact := facts[c.ID]; strings.HasPrefix(c.ID, "7.7.") || strings.HasPrefix(c.ID, "7.9.") {
			code := strings.TrimPrefix(fact, "code ")
			if !strings.Contains(c.Description, "code "+code+".") {
				t.Errorf("case %s: %q does not send Autobahn's code %s", c.ID, c.Description, code)
			}
		}
	}
}

// TestOwnCategories checks that pushwire's own cases are in categories 15
// and up, so that they never collide with Autobahn's.
func TestOwnCategories(t *testing.T) {
	want, _ := autobahnInventory(t)
	for _, r := range []Role{RoleServer, RoleClient} {
		for _, c := range Cases(r) {
			if !slices.Contains(want, c.ID) && compareIDs(c.ID, "15") < 0 {
				t.Errorf("%s role: case %s is not Autobahn's and is below category 15", r, c.ID)
			}
		}
	}
}

func firstDiffStr(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestRoles checks that every role has cases, that names round-trip, and
// that an unknown name or Role is an error or empty, never the server's.
func TestRoles(t *testing.T) {
	for _, r := range []Role{RoleServer, RoleClient, RoleSSEServer, RoleSSEClient} {
		got, err := ParseRole(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %v, %v, want %v", r.String(), got, err, r)
		}
		if len(Cases(r)) == 0 {
			t.Errorf("Cases(%v) is empty", r)
		}
	}
	for _, name := range []string{"", "Server", "servers", "h2"} {
		if r, err := ParseRole(name); err == nil {
			t.Errorf("ParseRole(%q) = %v, want an error", name, r)
		}
	}
	for _, r := range []Role{0, 5, 255} {
		if c := Cases(r); c != nil {
			t.Errorf("Cases(%v) = %d cases, want nil", r, len(c))
		}
	}
}
