//go:build !linux

package netpoll

// epoll exists on Linux only; elsewhere every poller is portable.
type epoll struct{}

func newEpoll(*instance) (*epoll, error) { return nil, nil }

func (*epoll) alloc(*Watch)     {}
func (*epoll) arm(*Watch) error { return nil }
func (*epoll) del(*Watch)       {}
func (*epoll) free(*Watch)      {}
func (*epoll) close()           {}
