package broker

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
)

// connectTimeout is how long a new connection may take to send CONNECT:
// without it a client that connects and stays silent holds a goroutine and a
// socket for ever.
const connectTimeout = 10 * time.Second

// listener is a mochi listener on a TCP socket the Broker binds itself, so
// that the bound address is known at once (port 0 works) and every goroutine
// it starts is accounted for: mochi's own TCP listener starts one goroutine
// per connection that nobody waits for, and leaves a connection that never
// sends CONNECT open after Close.
type listener struct {
	ln  net.Listener
	log *slog.Logger

	wg sync.WaitGroup // Serve and one goroutine per accepted connection

	mu     sync.Mutex            // guards conns, closed and every wg.Add
	conns  map[net.Conn]struct{} // accepted and not yet ended
	closed bool
}

var _ listeners.Listener = (*listener)(nil)

func newListener(ln net.Listener, log *slog.Logger) *listener {
	return &listener{ln: ln, log: log, conns: map[net.Conn]struct{}{}}
}

// ID names the listener in mochi.
func (l *listener) ID() string { return "hexiao-tcp" }

// Address is the bound address.
func (l *listener) Address() string { return l.ln.Addr().String() }

// Protocol is what the listener speaks.
func (l *listener) Protocol() string { return "tcp" }

// Init does nothing: the socket is bound before mochi sees the listener.
func (l *listener) Init(*slog.Logger) error { return nil }

// enter registers one more goroutine, unless the listener is closed.
func (l *listener) enter(conn net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	if conn != nil {
		l.conns[conn] = struct{}{}
	}
	l.wg.Add(1)
	return true
}

// leave ends what enter registered.
func (l *listener) leave(conn net.Conn) {
	if conn != nil {
		l.mu.Lock()
		delete(l.conns, conn)
		l.mu.Unlock()
	}
	l.wg.Done()
}

// Serve accepts connections and runs establish (mochi's whole client
// session) for each in a goroutine of its own, until Close. mochi calls it in
// a goroutine it starts; wait waits for it.
func (l *listener) Serve(establish listeners.EstablishFn) {
	if !l.enter(nil) {
		return
	}
	defer l.leave(nil)
	var backoff time.Duration
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.isClosed() {
				return
			}
			// Out of file descriptors, say: wait a little, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.log.Warn("mqtt accept failed", "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if !l.enter(conn) {
			conn.Close()
			return
		}
		// mochi sets no deadline until CONNECT arrives (then keepalive × 1.5).
		conn.SetDeadline(time.Now().Add(connectTimeout))
		go func() {
			defer l.leave(conn)
			defer conn.Close()
			if err := establish(l.ID(), conn); err != nil {
				l.log.Debug("mqtt connection ended", "remote", conn.RemoteAddr().String(), "err", err)
			}
		}()
	}
}

func (l *listener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// Close stops accepting, has mochi disconnect its clients and closes every
// connection still open (including any that never sent CONNECT). It is safe
// to call more than once.
func (l *listener) Close(closeClients listeners.CloseFn) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	conns := make([]net.Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	if closeClients != nil {
		closeClients(l.ID())
	}
	l.ln.Close()
	for _, c := range conns {
		c.Close()
	}
}

// wait returns when Serve and every connection goroutine have returned.
// Call it after Close.
func (l *listener) wait() { l.wg.Wait() }
