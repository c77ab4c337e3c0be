package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/pushwire/pushwire/hub"
)

// typeHeader carries an entry's type.
const typeHeader = "Pushwire-Type"

// slack is what a stream's MaxBytes and MaxMsgSize add to the topic's
// MaxBytes for the subject and headers JetStream counts with each message.
const slack = 512

// log is one topic's stream: a hub.EngineLog.
type log struct {
	e      *Engine
	stream string
	limits hub.Limits
	sub    *nats.Subscription // the doorbell
	ring   chan struct{}      // the doorbell rang since Wait last looked
	done   chan struct{}      // closed by Close
	once   sync.Once

	// Direct gets answer to inbox.N, one subscription for all of them;
	// reqs routes each answer to its reader.
	inbox   string
	replies *nats.Subscription
	rmu     sync.Mutex
	reqs    map[uint64]chan *nats.Msg
	nextID  uint64

	mu        sync.Mutex
	epoch     hub.Epoch // of the stream as last seen; "" before the first look
	rungEpoch hub.Epoch // epoch and sequence number of the last doorbell
	rungSeq   uint64
}

// doorbellPrefix is the first token of the subjects streams republish to.
const doorbellPrefix = "pwr."

// rang is the doorbell's handler: a message the stream stored, headers
// only, with its sequence number.
func (l *log) rang(m *nats.Msg) {
	seq, err := strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64)
	ep := hub.Epoch(strings.TrimPrefix(m.Subject, doorbellPrefix+l.stream+"."))
	if err == nil && ep.Valid() {
		l.mu.Lock()
		if ep != l.rungEpoch || seq > l.rungSeq {
			l.rungEpoch, l.rungSeq = ep, seq
		}
		l.mu.Unlock()
	}
	select {
	case l.ring <- struct{}{}:
	default:
	}
}

// reply routes an answer to a direct get to its reader. A reader that
// does not keep up loses it and times out; nothing here blocks.
func (l *log) reply(m *nats.Msg) {
	i := strings.LastIndexByte(m.Subject, '.')
	id, err := strconv.ParseUint(m.Subject[i+1:], 10, 64)
	if err != nil {
		return
	}
	l.rmu.Lock()
	ch := l.reqs[id]
	l.rmu.Unlock()
	select {
	case ch <- m:
	default:
	}
}

// request sends a direct get and returns the channel its answers come on
// and the function that ends it.
func (l *log) request(req []byte, answers int) (<-chan *nats.Msg, func(), error) {
	ch := make(chan *nats.Msg, answers)
	l.rmu.Lock()
	l.nextID++
	id := l.nextID
	l.reqs[id] = ch
	l.rmu.Unlock()
	end := func() {
		l.rmu.Lock()
		delete(l.reqs, id)
		l.rmu.Unlock()
	}
	if err := l.e.nc.PublishRequest("$JS.API.DIRECT.GET."+l.stream, l.inbox+"."+strconv.FormatUint(id, 10), req); err != nil {
		end()
		return nil, nil, err
	}
	return ch, end, nil
}

// rung returns what the doorbell last said.
func (l *log) rung() (hub.Epoch, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rungEpoch, l.rungSeq
}

// reqCtx bounds one request by the engine's timeout.
func (l *log) reqCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, l.e.opts.Timeout)
}

// check returns hub.ErrClosed once the log or the engine is closed.
func (l *log) check() error {
	select {
	case <-l.done:
		return hub.ErrClosed
	default:
	}
	l.e.mu.Lock()
	defer l.e.mu.Unlock()
	if l.e.closed {
		return hub.ErrClosed
	}
	return nil
}

// fail maps an error of a request: hub.ErrClosed once closed, the caller's
// ctx error as is, anything else wrapped as hub.ErrUnavailable.
func (l *log) fail(ctx context.Context, err error) error {
	if cerr := l.check(); cerr != nil {
		return cerr
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return unavailable(err)
}

// ensure returns the stream's epoch, looking it up (and creating the
// stream when it does not exist) if it is not known yet or is stale, the
// epoch a request found to be gone.
func (l *log) ensure(ctx context.Context, stale hub.Epoch) (hub.Epoch, error) {
	l.mu.Lock()
	ep := l.epoch
	l.mu.Unlock()
	if ep != "" && ep != stale {
		return ep, nil
	}
	info, err := l.info(ctx)
	if err != nil {
		return "", err
	}
	return l.epochOf(info)
}

// epochOf records and returns the epoch of a stream's info.
func (l *log) epochOf(info *natsjs.StreamInfo) (hub.Epoch, error) {
	var ep hub.Epoch
	if len(info.Config.Subjects) == 1 {
		ep = epochOf(l.stream, info.Config.Subjects[0])
	}
	if ep == "" {
		return "", fmt.Errorf("jetstream: stream %s has subjects %q, not one pw.%s.EPOCH: not a pushwire stream", l.stream, info.Config.Subjects, l.stream)
	}
	l.mu.Lock()
	l.epoch = ep
	l.mu.Unlock()
	return ep, nil
}

// info returns the stream's info, creating the stream with a new epoch if
// it does not exist.
func (l *log) info(ctx context.Context) (*natsjs.StreamInfo, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	rctx, cancel := l.reqCtx(ctx)
	defer cancel()
	s, err := l.e.js.Stream(rctx, l.stream)
	if errors.Is(err, natsjs.ErrStreamNotFound) {
		s, err = l.create(rctx)
	}
	if err != nil {
		return nil, l.fail(ctx, err)
	}
	return s.CachedInfo(), nil
}

// create creates the stream in a new epoch. When another node created it
// first, its stream and epoch win.
func (l *log) create(ctx context.Context) (natsjs.Stream, error) {
	ep := hub.NewEpoch()
	storage := natsjs.FileStorage
	if l.e.opts.Memory {
		storage = natsjs.MemoryStorage
	}
	s, err := l.e.js.CreateStream(ctx, natsjs.StreamConfig{
		Name:        l.stream,
		Description: "pushwire hub log",
		Subjects:    []string{subject(l.stream, ep)},
		Retention:   natsjs.LimitsPolicy,
		MaxMsgs:     int64(l.limits.MaxEntries),
		MaxBytes:    int64(l.limits.MaxBytes + slack),
		MaxMsgSize:  int32(min(l.limits.MaxBytes+slack, 1<<31-1)),
		Discard:     natsjs.DiscardOld,
		Storage:     storage,
		Replicas:    l.e.opts.Replicas,
		Duplicates:  l.e.opts.Duplicates,
		AllowDirect: true,
		Metadata:    map[string]string{"pushwire-epoch": string(ep)},
		// The doorbell: the stream republishes the headers of every
		// message it stores, with its sequence number, to a subject
		// that publishers do not use.
		RePublish: &natsjs.RePublish{
			Source:      subject(l.stream, ep),
			Destination: doorbellPrefix + l.stream + "." + string(ep),
			HeadersOnly: true,
		},
	})
	if errors.Is(err, natsjs.ErrStreamNameAlreadyInUse) {
		return l.e.js.Stream(ctx, l.stream)
	}
	return s, err
}

// Append publishes an entry to the stream's subject of the current epoch,
// with Nats-Msg-Id set to key, and returns its stream sequence.
func (l *log) Append(ctx context.Context, key, typ string, data []byte) (hub.Seq, error) {
	if size := len(typ) + len(data); size > l.limits.MaxBytes {
		return 0, fmt.Errorf("%w: %d bytes, the topic holds at most %d", hub.ErrTooLarge, size, l.limits.MaxBytes)
	}
	ep, err := l.ensure(ctx, "")
	if err != nil {
		return 0, err
	}
	opts := []natsjs.PublishOpt{natsjs.WithExpectStream(l.stream)}
	if key != "" {
		opts = append(opts, natsjs.WithMsgID(key))
	}
	for attempt := 0; ; attempt++ {
		msg := &nats.Msg{Subject: subject(l.stream, ep), Data: data}
		if typ != "" {
			msg.Header = nats.Header{typeHeader: []string{typ}}
		}
		rctx, cancel := l.reqCtx(ctx)
		ack, err := l.e.js.PublishMsg(rctx, msg, opts...)
		cancel()
		switch {
		case err == nil:
			return hub.Seq(ack.Sequence), nil
		case errors.Is(err, natsjs.ErrStreamMessageExceedsMaximum), errors.Is(err, nats.ErrMaxPayload):
			return 0, fmt.Errorf("%w: %v", hub.ErrTooLarge, err)
		case attempt == 0 && (errors.Is(err, natsjs.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders)):
			// No stream takes this epoch's subject: the stream was
			// deleted, and maybe created again in a new epoch.
			if ep, err = l.ensure(ctx, ep); err != nil {
				return 0, err
			}
			continue
		}
		return 0, l.fail(ctx, err)
	}
}

// Read copies the entries after after with one batched direct get. The
// get starts at after itself, when it is held, so that its end-of-batch
// answer gives the last sequence number even when nothing follows: the
// stream's info, a heavier request, is asked only when the stream holds
// nothing at or after after.
func (l *log) Read(ctx context.Context, after hub.Seq, buf []hub.Entry) (int, hub.Bounds, error) {
	if len(buf) == 0 {
		_, b, err := l.get(ctx, after, nil)
		return 0, b, err
	}
	return l.get(ctx, after, buf)
}

// get is Read; with an empty buf it only learns the bounds, as cheaply as
// one direct get of a single message.
func (l *log) get(ctx context.Context, after hub.Seq, buf []hub.Entry) (int, hub.Bounds, error) {
	ep, err := l.ensure(ctx, "")
	if err != nil {
		return 0, hub.Bounds{}, err
	}
	rctx, cancel := l.reqCtx(ctx)
	defer cancel()
	start := max(uint64(after), 1)
	req := fmt.Appendf(nil, `{"seq":%d,"batch":%d}`, start, len(buf)+1)
	answers, end, err := l.request(req, len(buf)+4)
	if err != nil {
		return 0, hub.Bounds{}, l.fail(ctx, err)
	}
	defer end()
	n := 0
	var msgEpoch hub.Epoch
	var first uint64 // the first message's sequence number
	whole := true    // every entry so far followed the one before, in one epoch
	for {
		var m *nats.Msg
		select {
		case m = <-answers:
		case <-rctx.Done():
			clear(buf[:n])
			return 0, hub.Bounds{}, l.fail(ctx, rctx.Err())
		case <-l.done:
			clear(buf[:n])
			return 0, hub.Bounds{}, hub.ErrClosed
		}
		switch status := m.Header.Get("Status"); status {
		case "":
		case "204": // end of batch
			pending, _ := strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
			last, _ := strconv.ParseUint(m.Header.Get("Nats-Last-Sequence"), 10, 64)
			if msgEpoch == "" {
				clear(buf[:n])
				b, err := l.Bounds(ctx)
				return 0, b, err
			}
			b := hub.Bounds{Epoch: msgEpoch, First: hub.Seq(first), Last: hub.Seq(last + pending)}
			if n > 0 && whole {
				b.Last = max(b.Last, buf[n-1].Seq)
			}
			if msgEpoch != ep {
				l.mu.Lock()
				l.epoch = msgEpoch
				l.mu.Unlock()
			}
			return n, b, nil
		case "404": // nothing at or after the sequence
			clear(buf[:n])
			b, err := l.Bounds(ctx)
			return 0, b, err
		case "503": // no responders: no stream serves direct gets by this name
			clear(buf[:n])
			if _, err := l.ensure(ctx, ep); err != nil {
				return 0, hub.Bounds{}, err
			}
			b, err := l.Bounds(ctx)
			return 0, b, err
		default:
			clear(buf[:n])
			return 0, hub.Bounds{}, l.fail(ctx, fmt.Errorf("jetstream: direct get: status %s %s", status, m.Header.Get("Description")))
		}
		seq, _ := strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64)
		mep := epochOf(l.stream, m.Header.Get("Nats-Subject"))
		if first == 0 {
			first, msgEpoch = seq, mep
		}
		if seq <= uint64(after) {
			continue // after itself, asked for its bounds
		}
		if !whole || n == len(buf) || mep != msgEpoch || mep == "" || n > 0 && seq != uint64(buf[n-1].Seq)+1 {
			whole = false // drain the rest of the batch, keep what is whole
			continue
		}
		ts, _ := time.Parse(time.RFC3339Nano, m.Header.Get("Nats-Time-Stamp"))
		buf[n] = hub.Entry{Seq: hub.Seq(seq), Time: ts, Type: m.Header.Get(typeHeader), Data: m.Data}
		if len(buf[n].Data) == 0 {
			buf[n].Data = nil
		}
		n++
	}
}

// Wait waits on the doorbell until the stream's last sequence passes
// after or its epoch changes. The doorbell carries the sequence number of
// each stored message, so a ring answers without a request; Wait checks
// with a one-message direct get when it starts, in case the doorbell rang
// before this handle listened, and with the stream's info at least every
// Poll, which also notices a stream deleted and created again. The bounds
// it returns for a ring have the First of its first check.
func (l *log) Wait(ctx context.Context, after hub.Seq) (hub.Bounds, error) {
	_, start, err := l.get(ctx, after, nil)
	if err != nil || start.Last > after {
		return start, err
	}
	for {
		if ep, seq := l.rung(); ep == start.Epoch && seq > uint64(after) {
			return hub.Bounds{Epoch: ep, First: start.First, Last: hub.Seq(seq)}, nil
		} else if ep != "" && ep != start.Epoch {
			return l.Bounds(ctx) // a new epoch rang: the exact bounds
		}
		t := time.NewTimer(l.e.opts.Poll)
		select {
		case <-l.ring:
			t.Stop()
		case <-t.C:
			b, err := l.Bounds(ctx)
			if err != nil || b.Last > after || b.Epoch != start.Epoch {
				return b, err
			}
		case <-ctx.Done():
			t.Stop()
			return hub.Bounds{}, ctx.Err()
		case <-l.done:
			t.Stop()
			return hub.Bounds{}, hub.ErrClosed
		}
	}
}

// Bounds returns the epoch and the first and last sequence numbers from
// the stream's info.
func (l *log) Bounds(ctx context.Context) (hub.Bounds, error) {
	info, err := l.info(ctx)
	if err != nil {
		return hub.Bounds{}, err
	}
	ep, err := l.epochOf(info)
	if err != nil {
		return hub.Bounds{}, err
	}
	st := info.State
	b := hub.Bounds{Epoch: ep, First: hub.Seq(st.FirstSeq), Last: hub.Seq(st.LastSeq)}
	if st.Msgs == 0 || b.First == 0 {
		b.First = b.Last + 1
	}
	return b, nil
}

// Close unsubscribes the doorbell; the stream stays.
func (l *log) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.sub.Unsubscribe()
		l.replies.Unsubscribe()
	})
	return nil
}
