package ftpflow

import (
	"ftpdiag/pcap"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

func TestHopsFrom(t *testing.T) {
	tests := []struct {
		ttl     uint8
		initial uint8
		hops    int
	}{
		{64, 64, 0}, {63, 64, 1}, {1, 64, 63}, {65, 128, 63}, {128, 128, 0},
		{117, 128, 11}, {255, 255, 0}, {250, 255, 5}, {129, 255, 126},
	}
	for _, tt := range tests {
		if i, h := hopsFrom(tt.ttl); i != tt.initial || h != tt.hops {
			t.Errorf("hopsFrom(%d) = %d, %d; want %d, %d", tt.ttl, i, h, tt.initial, tt.hops)
		}
	}
}

func TestJudgeVantage(t *testing.T) {
	U, C, S, B := VantageUnknown, VantageClient, VantageServer, VantageBetween
	tests := []struct {
		name        string
		ttl, timing Vantage
		want        Vantage
	}{
		{"TTL client, timing agrees", C, C, C},
		{"TTL client, timing silent", C, U, C},
		{"TTL client, timing says server: unknown", C, S, U},
		{"TTL server, timing says client: unknown", S, C, U},
		{"TTL between, timing nearer one end", B, C, B},
		{"no TTL, timing server", U, S, S},
		{"nothing tells", U, U, U},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := judgeVantage(tt.ttl, tt.timing); got != tt.want {
				t.Errorf("judgeVantage(%v, %v) = %v; want %v", tt.ttl, tt.timing, got, tt.want)
			}
		})
	}
}

func TestTTLVantage(t *testing.T) {
	steady := func(v uint8) TTLSeen { return TTLSeen{Min: v, Max: v, N: 3} }
	tests := []struct {
		name string
		ttl  [2]TTLSeen
		want Vantage
	}{
		{"client's link", [2]TTLSeen{steady(64), steady(62)}, VantageClient},
		{"server's link, Windows server", [2]TTLSeen{steady(57), steady(128)}, VantageServer},
		{"between two routers", [2]TTLSeen{steady(63), steady(120)}, VantageBetween},
		{"both unrouted: one link or one host", [2]TTLSeen{steady(64), steady(64)}, VantageUnknown},
		{"client TTL varies: two capture points merged", [2]TTLSeen{{Min: 63, Max: 64, N: 4}, steady(63)}, VantageUnknown},
		{"server never seen", [2]TTLSeen{steady(64), {}}, VantageUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Conn{TTL: tt.ttl}
			if got, why := c.ttlVantage(); got != tt.want {
				t.Errorf("ttlVantage(%+v) = %v (%s); want %v", tt.ttl, got, why, tt.want)
			}
		})
	}
}

func TestIPTTL(t *testing.T) {
	src4 := netip.MustParseAddr("198.51.100.10")
	src6 := netip.MustParseAddr("2001:db8::10")
	ip4 := make([]byte, 20)
	ip4[0], ip4[8] = 0x45, 61
	copy(ip4[12:16], src4.AsSlice())
	ip6 := make([]byte, 40)
	ip6[0], ip6[7] = 0x60, 250
	copy(ip6[8:24], src6.AsSlice())
	eth := func(etype []byte, ip []byte) []byte {
		return append(append(make([]byte, 12), etype...), ip...)
	}
	vlan := eth([]byte{0x81, 0x00}, append([]byte{0, 5, 0x08, 0x00}, ip4...))
	sll2 := append([]byte{0x86, 0xdd}, append(make([]byte, 18), ip6...)...)
	tests := []struct {
		name string
		lt   layers.LinkType
		data []byte
		src  netip.Addr
		ttl  uint8
		ok   bool
	}{
		{"ethernet/ipv4", layers.LinkTypeEthernet, eth([]byte{0x08, 0x00}, ip4), src4, 61, true},
		{"802.1Q/ipv4", layers.LinkTypeEthernet, vlan, src4, 61, true},
		{"sll2/ipv6", layers.LinkTypeLinuxSLL2, sll2, src6, 250, true},
		{"raw/ipv6", layers.LinkTypeRaw, ip6, src6, 250, true},
		{"loopback/ipv4", layers.LinkTypeNull, append([]byte{2, 0, 0, 0}, ip4...), src4, 61, true},
		{"outer header of a tunnel: other source", layers.LinkTypeEthernet, eth([]byte{0x08, 0x00}, ip4), src6, 61, false},
		{"MPLS: not read", layers.LinkTypeEthernet, eth([]byte{0x88, 0x47}, ip4), src4, 0, false},
		{"cut short", layers.LinkTypeEthernet, eth([]byte{0x08, 0x00}, ip4[:10]), src4, 0, false},
		{"empty", layers.LinkTypeEthernet, nil, src4, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ttl, ok := pcap.IPTTL(tt.lt, tt.data, tt.src)
			if ok != tt.ok || (ok && ttl != tt.ttl) {
				t.Errorf("IPTTL = %d, %v; want %d, %v", ttl, ok, tt.ttl, tt.ok)
			}
		})
	}
}
