package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/hexiao/hexiao/protocol"
)

// Directory answers who may connect.
type Directory interface {
	// Login returns the store of terminal id when password is its current MQTT
	// password and the terminal is not revoked, or an error saying why not.
	Login(terminal string, password []byte) (store string, err error)
}

// authHook is the mochi hook that logs terminals in and applies the topic
// ACL. It keeps, per client id (which is the terminal id), the mochi client
// that logged in and the store the Directory named, for the subscribe ACL and
// for every delivery (mochi checks the ACL again on each message it hands a
// client, including those it queues for a disconnected persistent session).
type authHook struct {
	mqtt.HookBase
	dir Directory
	log *slog.Logger

	held atomic.Bool // logins refused until Broker.Admit

	mu       sync.Mutex         // guards sessions
	sessions map[string]session // by client id
}

// session is what a login established.
type session struct {
	cl    *mqtt.Client // the connection that logged in; a takeover replaces it
	store string
}

func newAuthHook(dir Directory, log *slog.Logger) *authHook {
	return &authHook{dir: dir, log: log, sessions: map[string]session{}}
}

// ID names the hook in mochi's logs.
func (h *authHook) ID() string { return "hexiao-auth" }

// Provides says which mochi events the hook handles.
func (h *authHook) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish, mqtt.OnSubscribed,
		mqtt.OnDisconnect, mqtt.OnClientExpired:
		return true
	}
	return false
}

// Reasons for logins refused before the Directory is asked.
var (
	errAnonymous     = errors.New("anonymous login (no username)")
	errClientID      = errors.New("client id differs from the username")
	errReservedID    = errors.New("terminal id is the broker's in-process client id")
	errWillForbidden = errors.New("last will on a topic the terminal may not publish, or retained where nothing is")
	errHeld          = errors.New("the hub is starting and not yet listening; try again")
)

// idleKeepalive is the keepalive, in seconds, the broker imposes on a
// client that asks for none (0): without it a half-open connection, and
// the terminal's "online" presence with it, would last forever. An MQTT 5
// client is told (server keepalive); an MQTT 3.1.1 client must ping within
// 1.5 × this or be dropped.
const idleKeepalive = 120

// OnConnect imposes idleKeepalive on a client that asks for no keepalive.
func (h *authHook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	if !cl.Net.Inline && cl.State.Keepalive == 0 {
		cl.State.Keepalive, cl.State.ServerKeepalive = idleKeepalive, true
	}
	return nil
}

// OnConnectAuthenticate admits a terminal whose username and client id are
// its terminal id, whose last will (if any) is on one of its own topics and
// whose password the Directory accepts.
func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	if cl.Net.Inline {
		return true
	}
	terminal := string(pk.Connect.Username)
	store, err := h.login(terminal, pk)
	if err != nil {
		h.log.Warn("mqtt login refused", "terminal", terminal, "client", pk.Connect.ClientIdentifier,
			"remote", cl.Net.Remote, "reason", err.Error())
		return false
	}
	h.mu.Lock()
	h.sessions[cl.ID] = session{cl: cl, store: store}
	h.mu.Unlock()
	h.log.Debug("mqtt login", "terminal", terminal, "store", store, "remote", cl.Net.Remote)
	return true
}

// login checks everything but the ACL and returns the terminal's store.
func (h *authHook) login(terminal string, pk packets.Packet) (string, error) {
	switch {
	case h.held.Load():
		return "", errHeld
	case !pk.Connect.UsernameFlag || terminal == "":
		return "", errAnonymous
	case pk.Connect.ClientIdentifier != terminal:
		// Without this a terminal could log in with its own password under
		// another terminal's client id and take over that session.
		return "", errClientID
	case terminal == mqtt.InlineClientId:
		// mochi would hand this client the in-process client's session.
		return "", errReservedID
	}
	if err := protocol.ValidID(terminal); err != nil {
		return "", fmt.Errorf("terminal id: %w", err)
	}
	// mochi publishes a last will without asking the ACL, so a will on
	// someone else's topic would be a forged publish.
	if pk.Connect.WillFlag && (!protocol.TerminalMayPublish(terminal, pk.Connect.WillTopic) ||
		pk.Connect.WillRetain && !retainAllowed(pk.Connect.WillTopic)) {
		return "", errWillForbidden
	}
	store, err := h.dir.Login(terminal, pk.Connect.Password)
	if err != nil {
		return "", fmt.Errorf("directory: %w", err)
	}
	if store == "" {
		return "", errors.New("directory: the terminal has no store")
	}
	return store, nil
}

// OnACLCheck allows a terminal's publishes by protocol.TerminalMayPublish and
// its subscriptions and deliveries by protocol.TerminalMaySubscribe.
func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if cl.Net.Inline {
		return true
	}
	store, ok := h.store(cl)
	if !ok {
		return false
	}
	if write {
		if protocol.TerminalMayPublish(cl.ID, topic) {
			return true
		}
		h.log.Warn("mqtt publish refused", "terminal", cl.ID, "topic", topic)
		return false
	}
	// Not logged here: mochi asks this for every delivery too, and a
	// terminal subscribed to hx/v1/t/{id}/# is refused its own publishes
	// echoed back. Refused subscriptions are logged in OnSubscribed.
	return protocol.TerminalMaySubscribe(cl.ID, store, topic)
}

// OnPublish keeps a terminal's message retained only on the topics the
// protocol retains (presence), so that no terminal parks a megabyte on each
// of its other topics. It runs after the ACL has allowed the publish.
func (h *authHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if !cl.Net.Inline && pk.FixedHeader.Retain && !retainAllowed(pk.TopicName) {
		pk.FixedHeader.Retain = false
	}
	return pk, nil
}

// retainAllowed reports whether the protocol retains messages on topic.
func retainAllowed(topic string) bool {
	t, err := protocol.ParseTopic(topic)
	if err != nil {
		return false
	}
	spec, ok := t.Kind.Spec()
	return ok && spec.Retained
}

// OnSubscribed logs the filters of a SUBSCRIBE the broker refused.
func (h *authHook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, codes []byte) {
	if cl.Net.Inline {
		return
	}
	for i, f := range pk.Filters {
		if i < len(codes) && codes[i] >= packets.ErrUnspecifiedError.Code {
			h.log.Warn("mqtt subscription refused", "terminal", cl.ID, "filter", f.Filter, "code", codes[i])
		}
	}
}

// OnDisconnect forgets a clean session when its connection ends; a
// persistent session keeps its store until it expires.
func (h *authHook) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	if expire {
		h.forget(cl)
	}
}

// OnClientExpired forgets an expired persistent session.
func (h *authHook) OnClientExpired(cl *mqtt.Client) { h.forget(cl) }

// store returns the store of the session cl belongs to.
func (h *authHook) store(cl *mqtt.Client) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.sessions[cl.ID]
	if !ok || s.cl != cl {
		return "", false
	}
	return s.store, true
}

// forget drops cl's session unless a newer connection has taken it over.
func (h *authHook) forget(cl *mqtt.Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.sessions[cl.ID]; ok && s.cl == cl {
		delete(h.sessions, cl.ID)
	}
}

// quietHandler passes mochi's own log records at warning level and above to
// the hub's handler, without the packets mochi attaches to some of them
// (a whole PUBLISH, payload included, can be a megabyte).
type quietHandler struct{ h slog.Handler }

func (q quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && q.h.Enabled(ctx, l)
}

func (q quietHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "pk" && a.Key != "packet" {
			out.AddAttrs(a)
		}
		return true
	})
	return q.h.Handle(ctx, out)
}

func (q quietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return quietHandler{q.h.WithAttrs(as)}
}

func (q quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{q.h.WithGroup(name)}
}
