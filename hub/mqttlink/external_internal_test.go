package mqttlink

import "testing"

func TestParseBrokerURL(t *testing.T) {
	tests := []struct {
		url                                 string
		server, user, pass, clientID, group string
		tls                                 bool
	}{
		{"mqtt://hub:s3cret@broker.example:1884", "tcp://broker.example:1884", "hub", "s3cret", "", "", false},
		{"mqtt://broker.example", "tcp://broker.example:1883", "", "", "", "", false},
		{"tcp://10.0.0.1:1883?client_id=hub-2&share=hexiao", "tcp://10.0.0.1:1883", "", "", "hub-2", "hexiao", false},
		{"mqtts://hub:pw@broker.example", "ssl://broker.example:8883", "hub", "pw", "", "", true},
		{"mqtt://[::1]:1884", "tcp://[::1]:1884", "", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			ep, err := parseBrokerURL(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			got := []any{ep.server, ep.user, ep.pass, ep.clientID, ep.group, ep.tls}
			want := []any{tt.server, tt.user, tt.pass, tt.clientID, tt.group, tt.tls}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("got %v, want %v", got, want)
					break
				}
			}
		})
	}
}

func TestMatchTopic(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{"hx/v1/t/+/events", "hx/v1/t/T1/events", true},
		{"hx/v1/t/+/events", "hx/v1/t/T1/claim", false},
		{"hx/v1/t/+/feed/req", "hx/v1/t/T1/feed/req", true},
		{"hx/v1/t/+/feed/req", "hx/v1/t/T1/feed", false},
		{"hx/v1/t/+/claim", "hx/v1/t/T1/claim/reply", false},
		{"hx/v1/t/T1/#", "hx/v1/t/T1/claim/reply", true},
		{"hx/v1/#", "hx/v1", true},
		{"#", "anything/at/all", true},
		{"hx/v1/t/+/events", "hx/v1/t/events", false},
	}
	for _, tt := range tests {
		t.Run(tt.filter+" "+tt.topic, func(t *testing.T) {
			if got := matchTopic(tt.filter, tt.topic); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
