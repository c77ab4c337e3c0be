package conformance

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout is the length of the one-second unit of the cases'
// timers when Options.Timeout is zero: Autobahn|Testsuite's own timing
// (killAfter(1), closeAfter(1), the closing handshake's 1 s, …).
const DefaultTimeout = time.Second

// DefaultSSETimeout is how long an SSE case waits for each reaction of the
// peer when Options.Timeout is zero.
const DefaultSSETimeout = 2 * time.Second

// role says which roles a case runs in.
type role uint8

const (
	roleServer role = 1 << iota // the harness tests a server
	roleClient                  // the harness tests a client
	roleBoth   = roleServer | roleClient
)

// wsCase is one WebSocket case.
type wsCase struct {
	id     string
	desc   string
	expect string
	roles  role
	// rule quotes the RFC sentence that makes the expectation a
	// requirement; FAILED grades cite it.
	rule string
	// pmd is the permessage-deflate offer (server role) and acceptance
	// (client role) the case needs; nil for none.
	pmd *pmdCase
	// run starts the case on an established connection (Autobahn's
	// onOpen): it sets the expectations, sends and sets the timers.
	run func(s *session)
	// raw, when set, replaces run: an opening-handshake case, which makes
	// its own connections over the transport.
	raw func(r *rawEnv)
	// transport, when set, is the one transport the case is for (the
	// opening-handshake cases).
	transport string
}

// CaseInfo describes a case of the catalogue.
type CaseInfo struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	Expectation string `json:"expectation"`
}

// Role is a role of the harness, named by what it tests: a WebSocket
// server or client, or a Server-Sent Events server or client. The zero
// Role is none.
type Role uint8

// The roles.
const (
	RoleServer    Role = iota + 1 // WebSocket servers: RunServer
	RoleClient                    // WebSocket clients: FuzzingServer
	RoleSSEServer                 // SSE servers: RunSSEServer
	RoleSSEClient                 // SSE clients: SSEClientServer
)

var roleNames = [...]string{RoleServer: "server", RoleClient: "client", RoleSSEServer: "sse-server", RoleSSEClient: "sse-client"}

// String returns the role's name, as the command line spells it
// ("server", "client", "sse-server", "sse-client").
func (r Role) String() string {
	if r == 0 || int(r) >= len(roleNames) {
		return fmt.Sprintf("Role(%d)", uint8(r))
	}
	return roleNames[r]
}

// ParseRole returns the Role named name; an unknown name is an error,
// never a default role.
func ParseRole(name string) (Role, error) {
	for r, n := range roleNames {
		if n != "" && n == name {
			return Role(r), nil
		}
	}
	return 0, fmt.Errorf("conformance: unknown role %q (want server, client, sse-server or sse-client)", name)
}

// Cases returns the catalogue of a role, in order; nil for a Role that is
// none of the four. The server list includes the opening-handshake cases
// of both transports (15.1.x over HTTP/1.1, 15.6.x over HTTP/2), of which
// a run uses those of its URL's.
func Cases(r Role) []CaseInfo {
	var out []CaseInfo
	switch r {
	case RoleServer:
		for _, c := range catalogue(roleServer) {
			out = append(out, CaseInfo{c.id, c.desc, c.expect})
		}
	case RoleClient:
		for _, c := range catalogue(roleClient) {
			out = append(out, CaseInfo{c.id, c.desc, c.expect})
		}
	case RoleSSEServer:
		for _, c := range sseServerCases {
			out = append(out, CaseInfo{c.id, c.desc, c.expect})
		}
	case RoleSSEClient:
		for _, c := range sseClientCases {
			out = append(out, CaseInfo{c.id, c.desc, "The client dispatches the events of the stream as the WHATWG EventSource processing model says."})
		}
	}
	return out
}

var builders []func(b *builder)

// builder collects cases for one role.
type builder struct {
	role  role
	cases []*wsCase
}

func (b *builder) add(c *wsCase) {
	if c.roles == 0 {
		c.roles = roleBoth
	}
	if c.roles&b.role != 0 {
		b.cases = append(b.cases, c)
	}
}

// catalogue returns every case for r, sorted by id.
func catalogue(r role) []*wsCase {
	b := &builder{role: r}
	for _, f := range builders {
		f(b)
	}
	slices.SortStableFunc(b.cases, func(x, y *wsCase) int { return compareIDs(x.id, y.id) })
	return b.cases
}

// compareIDs orders "1.2.10" after "1.2.9".
func compareIDs(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.Atoi(as[i])
		y, _ := strconv.Atoi(bs[i])
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(as), len(bs))
}

// matchID reports whether id matches pattern: an exact id, a path.Match
// pattern such as "6.*" or "7.?.1", or a category prefix such as "6" or
// "6.4".
func matchID(pattern, id string) bool {
	if pattern == id || strings.HasPrefix(id, pattern+".") {
		return true
	}
	ok, _ := path.Match(pattern, id)
	return ok
}

// selectCases returns the cases matched by include (all when empty) and
// not by exclude.
func selectCases(all []*wsCase, include, exclude []string) []*wsCase {
	var out []*wsCase
	for _, c := range all {
		in := len(include) == 0 || slices.ContainsFunc(include, func(p string) bool { return matchID(p, c.id) })
		ex := slices.ContainsFunc(exclude, func(p string) bool { return matchID(p, c.id) })
		if in && !ex {
			out = append(out, c)
		}
	}
	return out
}
