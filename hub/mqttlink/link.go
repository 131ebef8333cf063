package mqttlink

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

// Ledger is what the link needs from the hub. Every method takes the
// terminal named by the topic the message came on, never the payload's.
type Ledger interface {
	// Ingest commits a batch and returns the terminal's ack watermark. An
	// error means no ack is published; the terminal re-sends.
	Ingest(ctx context.Context, terminal string, b *protocol.EventBatch) (protocol.Ack, error)
	Claim(ctx context.Context, terminal string, req *protocol.ClaimRequest) (protocol.ClaimReply, error)
	Feed(ctx context.Context, terminal string, req *protocol.FeedRequest) (protocol.FeedPage, error)
	Snapshot(ctx context.Context, terminal string, req *protocol.SnapshotRequest) (protocol.SnapshotPage, error)
	// Presence records a birth or a last will; live is false for a
	// retained copy, whose clock says nothing about skew.
	Presence(ctx context.Context, terminal string, p *protocol.Presence, live bool) error
	// Subscribe returns the hub's notices in commit order; each
	// Notice.Pushes entry goes out on its store's feed topic.
	Subscribe(buf int) (<-chan hub.Notice, func())
	// Announcement is the hub's version, published retained.
	Announcement() protocol.VersionAnnounce
	// RefuseMalformed records a batch that does not decode and returns
	// the ack that refuses it at the terminal's watermark.
	RefuseMalformed(ctx context.Context, terminal string, what protocol.TopicKind, detail string) (protocol.Ack, error)
}

var _ Ledger = (*hub.Hub)(nil)

// Transport carries the link's messages: the embedded broker (Embedded) or
// an external one (Dial).
type Transport interface {
	// Publish publishes payload on topic at QoS 1. A nil error means the
	// message was handed on, not that anyone received it.
	Publish(topic string, payload []byte, retain bool) error
	// Subscribe delivers the messages on topics matching any of filters to
	// handler until unsubscribe is called; retained is true for a retained
	// copy delivered because of the subscription. Messages from one
	// publisher arrive in the order it sent them. handler may block: that
	// holds back further deliveries (back-pressure).
	Subscribe(filters []string, handler func(topic string, payload []byte, retained bool)) (unsubscribe func(), err error)
}

// Filters are the terminal-side topics the link subscribes to.
var Filters = []string{
	"hx/v1/t/+/" + string(protocol.TopicEvents),
	"hx/v1/t/+/" + string(protocol.TopicClaim),
	"hx/v1/t/+/" + string(protocol.TopicFeedRequest),
	"hx/v1/t/+/" + string(protocol.TopicSnapRequest),
	"hx/v1/t/+/" + string(protocol.TopicPresence),
}

// Defaults of Config's optional fields.
const (
	// DefaultQueueDepth is each worker's queue. A queued message may be up
	// to protocol.MaxMessageBytes, so the queues hold at most
	// (Workers + ClaimWorkers + GOMAXPROCS) × 8 payloads: 72 MiB per core
	// with the defaults, in the worst case of maximum-size messages; a
	// burst beyond that is held back at the broker (back-pressure), not
	// dropped.
	DefaultQueueDepth = 8
	// DefaultNoticeBuffer is how many notices the link may fall behind the
	// ledger before the hub drops some (a terminal that misses a push sees
	// the gap in FeedPush.After and asks for a feed page).
	DefaultNoticeBuffer = 4096
)

// Config configures a Link.
type Config struct {
	Ledger    Ledger    // required
	Transport Transport // required
	Log       *slog.Logger
	// Workers is the number of ingest workers (feed and snapshot requests
	// get min(Workers, GOMAXPROCS)); 0 means 4 × runtime.GOMAXPROCS. Batches of one terminal
	// always go to the same worker, in arrival order. An ingest worker
	// spends most of its time waiting for the ledger's writer; more
	// workers than cores keep batches verified and ready, and those that
	// wait together share one commit (hub's group commit).
	Workers int
	// ClaimWorkers answer claims, apart from ingest so that a claim never
	// waits behind a slow batch; 0 means Workers.
	ClaimWorkers int
	// QueueDepth is each worker's queue length; 0 means DefaultQueueDepth.
	QueueDepth int
	// NoticeBuffer is passed to Ledger.Subscribe; 0 means
	// DefaultNoticeBuffer.
	NoticeBuffer int
	// OnRevoked, if set, is called with the id of each terminal the
	// ledger's notices say was revoked: the embedded broker's Disconnect,
	// so that a revoked terminal loses its session at once.
	OnRevoked func(terminal string)
}

// Link moves messages between the terminals' topics and the Ledger.
type Link struct {
	ledger    Ledger
	transport Transport
	log       *slog.Logger
	noticeBuf int
	onRevoked func(terminal string)

	// Three pools of workers, each worker with its own queue. A terminal's
	// messages of one pool always go to the same worker, so they are handled
	// in the order they arrived.
	ingest *pool // event batches and presence
	claims *pool // claims
	reads  *pool // feed and snapshot requests

	running    atomic.Bool
	stats      counters
	subscribed chan struct{} // closed once Run has subscribed to the terminal topics
}

// Subscribed is closed once Run listens on the terminal topics: messages
// published before then may not reach the link (a test or a supervisor
// waits for it).
func (l *Link) Subscribed() <-chan struct{} { return l.subscribed }

// New checks cfg and makes a Link; Run starts it.
func New(cfg Config) (*Link, error) {
	if cfg.Ledger == nil {
		return nil, errors.New("mqttlink: no ledger")
	}
	if cfg.Transport == nil {
		return nil, errors.New("mqttlink: no transport")
	}
	if cfg.Workers < 0 || cfg.ClaimWorkers < 0 || cfg.QueueDepth < 0 || cfg.NoticeBuffer < 0 {
		return nil, errors.New("mqttlink: negative worker, queue or buffer size")
	}
	workers := cfg.Workers
	if workers == 0 {
		workers = 4 * runtime.GOMAXPROCS(0)
	}
	// Feed and snapshot pages are read-only and CPU-bound: one worker per
	// core (or Workers, if smaller).
	readWorkers := min(workers, runtime.GOMAXPROCS(0))
	claimWorkers := cfg.ClaimWorkers
	if claimWorkers == 0 {
		claimWorkers = workers
	}
	depth := cfg.QueueDepth
	if depth == 0 {
		depth = DefaultQueueDepth
	}
	noticeBuf := cfg.NoticeBuffer
	if noticeBuf == 0 {
		noticeBuf = DefaultNoticeBuffer
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Link{subscribed: make(chan struct{}),
		ledger:    cfg.Ledger,
		transport: cfg.Transport,
		log:       log,
		noticeBuf: noticeBuf,
		onRevoked: cfg.OnRevoked,
		ingest:    newPool("ingest", workers, depth),
		claims:    newPool("claims", claimWorkers, depth),
		reads:     newPool("reads", readWorkers, depth),
	}, nil
}

// Run publishes the hub's version announcement, subscribes to the terminal
// topics and serves them until ctx ends; then it unsubscribes and returns
// once every goroutine it started has stopped. Messages still queued then
// are dropped: their terminals re-send them. Run may be called once.
func (l *Link) Run(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return errors.New("mqttlink: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, p := range []*pool{l.ingest, l.claims, l.reads} {
		for _, q := range p.queues {
			wg.Go(func() { l.work(ctx, q) })
		}
	}
	notices, stopNotices := l.ledger.Subscribe(l.noticeBuf)
	wg.Go(func() { l.forward(ctx, notices) })
	defer func() {
		stopNotices()
		cancel()
		wg.Wait()
	}()

	l.announce()
	unsubscribe, err := l.transport.Subscribe(Filters, func(topic string, payload []byte, retained bool) {
		l.receive(ctx, topic, payload, retained)
	})
	if err != nil {
		return fmt.Errorf("mqttlink: subscribe: %w", err)
	}
	close(l.subscribed)
	l.log.Info("mqtt link running", "workers", len(l.ingest.queues), "claim_workers", len(l.claims.queues))
	<-ctx.Done()
	unsubscribe()
	return nil
}

// job is one received message waiting for a worker.
type job struct {
	kind     protocol.TopicKind
	terminal string
	payload  []byte
	retained bool
}

// pool is a set of workers' queues.
type pool struct {
	name   string
	queues []chan job
}

func newPool(name string, workers, depth int) *pool {
	p := &pool{name: name, queues: make([]chan job, workers)}
	for i := range p.queues {
		p.queues[i] = make(chan job, depth)
	}
	return p
}

// queue returns the queue of terminal's worker.
func (p *pool) queue(terminal string) chan job {
	h := fnv.New32a()
	h.Write([]byte(terminal))
	return p.queues[h.Sum32()%uint32(len(p.queues))]
}

// queued returns how many jobs wait in the pool.
func (p *pool) queued() int {
	n := 0
	for _, q := range p.queues {
		n += len(q)
	}
	return n
}

// receive is the transport's handler: it reads the terminal from the topic
// and queues the message for its worker, waiting while that queue is full.
// Decoding is the worker's, so a large batch never holds the transport up.
func (l *Link) receive(ctx context.Context, topic string, payload []byte, retained bool) {
	t, err := protocol.ParseTopic(topic)
	if err != nil {
		l.stats.malformed.Add(1)
		l.log.Warn("message on an unknown topic dropped", "topic", topic, "err", err)
		return
	}
	var p *pool
	switch t.Kind {
	case protocol.TopicEvents, protocol.TopicPresence:
		p = l.ingest
	case protocol.TopicClaim:
		p = l.claims
	case protocol.TopicFeedRequest, protocol.TopicSnapRequest:
		p = l.reads
	default:
		l.stats.malformed.Add(1)
		l.log.Warn("message on a hub-side topic dropped", "topic", topic)
		return
	}
	l.stats.in(t.Kind).Add(1)
	select {
	case p.queue(t.Terminal) <- job{kind: t.Kind, terminal: t.Terminal, payload: payload, retained: retained}:
	case <-ctx.Done():
	}
}

// work runs one worker until ctx ends.
func (l *Link) work(ctx context.Context, q <-chan job) {
	for {
		select {
		case j := <-q:
			l.handle(ctx, j)
		case <-ctx.Done():
			return
		}
	}
}
