package ftpflow

import (
	"testing"
)

// TestOrderState follows one side's sequence space through segments and
// the peer's acknowledgements, and checks which segment is seen late.
func TestOrderState(t *testing.T) {
	type step struct {
		ack       bool // the peer acknowledges up to seq
		seq       uint32
		n         int
		syn, late bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{{syn: true, seq: 100}, {seq: 101, n: 10}, {seq: 111, n: 10}}},
		{"hole filled by a retransmission", []step{{syn: true, seq: 100}, {seq: 111, n: 10}, {seq: 101, n: 10, late: true}}},
		{"hole filled by a bigger resend", []step{{seq: 1000, n: 10}, {seq: 1020, n: 10}, {seq: 1005, n: 30, late: true}}},
		{"hole acknowledged first: the capture missed it", []step{{syn: true, seq: 100}, {seq: 111, n: 10}, {ack: true, seq: 121}, {seq: 101, n: 10}}},
		{"duplicate acks below the hole leave it pending", []step{{syn: true, seq: 100}, {seq: 111, n: 10}, {ack: true, seq: 101}, {seq: 101, n: 10, late: true}}},
		{"plain retransmission, no hole", []step{{syn: true, seq: 100}, {seq: 101, n: 10}, {seq: 101, n: 10}}},
		{"resend starting inside the hole does not fill its first byte", []step{{syn: true, seq: 100}, {seq: 121, n: 10}, {seq: 111, n: 10}, {seq: 101, n: 10, late: true}}},
		{"sequence numbers wrap", []step{{syn: true, seq: 0xfffffff0}, {seq: 0xfffffffb, n: 20}, {seq: 0xfffffff1, n: 10, late: true}}},
		{"caught mid-stream", []step{{seq: 5000, n: 10}, {seq: 5010, n: 10}}},
		{"pure acks carry nothing", []step{{syn: true, seq: 100}, {seq: 150, n: 0}, {seq: 101, n: 10}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o orderState
			for i, s := range tt.steps {
				if s.ack {
					o.acked(s.seq)
					continue
				}
				if got := o.segment(s.seq, s.n, s.syn); got != s.late {
					t.Errorf("step %d (seq %d, %d bytes): late %v; want %v", i, s.seq, s.n, got, s.late)
				}
			}
		})
	}
}

// TestEtherVantage checks what the Ethernet addresses of the two sides
// say: only one interface sending both directions, to two next hops, says
// the capture was taken between the ends.
func TestEtherVantage(t *testing.T) {
	a, b, c := [6]byte{2, 0, 0, 0, 3, 1}, [6]byte{2, 0, 0, 0, 3, 2}, [6]byte{2, 0, 0, 0, 3, 3}
	seen := func(src, dst [6]byte) EtherSeen { return EtherSeen{Src: src, Dst: dst, N: 5} }
	tests := []struct {
		name   string
		client EtherSeen
		server EtherSeen
		want   Vantage
	}{
		{"two hosts talking across the link", seen(a, b), seen(b, a), VantageUnknown},
		{"one router forwards both ways", seen(a, b), seen(a, c), VantageBetween},
		{"same addresses both ways: rewritten", seen(a, b), seen(a, b), VantageUnknown},
		{"client's source varies", EtherSeen{Src: a, Dst: b, N: 5, Varies: true}, seen(a, c), VantageUnknown},
		{"not Ethernet", EtherSeen{}, EtherSeen{}, VantageUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Conn{}
			c.TTL[Client].Ether, c.TTL[Server].Ether = tt.client, tt.server
			if got, why := c.etherVantage(); got != tt.want {
				t.Errorf("etherVantage = %v (%s); want %v", got, why, tt.want)
			}
		})
	}
}

// TestSignsJudge checks how the Ethernet addresses and the late segments
// combine with the TTLs and the timing: they confirm, contradict (unknown)
// or, when nothing else tells, place the capture between the ends.
func TestSignsJudge(t *testing.T) {
	U, C, S, B := VantageUnknown, VantageClient, VantageServer, VantageBetween
	tests := []struct {
		name string
		g    signs
		want Vantage
	}{
		{"TTL client, server's segments late: agrees", signs{ttl: C, late: [2]bool{false, true}}, C},
		{"TTL client, client's segments late: contradicts", signs{ttl: C, ttlLocal: true, late: [2]bool{true, false}}, U},
		{"TTL server, client's segments late: agrees", signs{ttl: S, ttlLocal: true, late: [2]bool{true, false}}, S},
		{"TTL server, server's segments late: contradicts", signs{ttl: S, late: [2]bool{false, true}}, U},
		{"TTL between, a router's address both ways: agrees", signs{ttl: B, ether: B}, B},
		{"TTL client, a router's address both ways: contradicts", signs{ttl: C, ttlLocal: true, ether: B}, U},
		{"timing server, a router's address both ways: contradicts", signs{timing: S, ether: B}, U},
		{"nothing else tells, a router's address both ways", signs{ether: B}, B},
		{"nothing else tells, both sides' segments late", signs{late: [2]bool{true, true}}, B},
		{"one side late alone tells no side", signs{late: [2]bool{true, false}}, U},
		{"TTLs at their initial value, a router's address: contradicts", signs{ttlLocal: true, ether: B}, U},
		{"TTL and timing disagree: late segments do not decide", signs{ttl: C, timing: S, late: [2]bool{true, false}}, U},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.g.judge(); got != tt.want {
				t.Errorf("judge(%+v) = %v; want %v", tt.g, got, tt.want)
			}
		})
	}
}
