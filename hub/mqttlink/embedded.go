package mqttlink

import "github.com/hexiao/hexiao/hub/broker"

// Embedded returns the Transport of the hub's own broker: publishes and
// subscriptions go through its in-process client, with no network and no
// ACL. A handler runs in the goroutine of the publishing terminal's
// connection, so blocking it holds back only that terminal.
func Embedded(b *broker.Broker) Transport { return embedded{b} }

type embedded struct{ b *broker.Broker }

func (e embedded) Publish(topic string, payload []byte, retain bool) error {
	return e.b.Publish(topic, payload, retain)
}

func (e embedded) Subscribe(filters []string, handler func(topic string, payload []byte, retained bool)) (func(), error) {
	var unsubs []func()
	all := func() {
		for _, u := range unsubs {
			u()
		}
	}
	for _, f := range filters {
		u, err := e.b.Subscribe(f, handler)
		if err != nil {
			all()
			return nil, err
		}
		unsubs = append(unsubs, u)
	}
	return all, nil
}
