package pcap

import (
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// encapsulated builds one Ethernet frame: the given layers, then a TCP
// segment 192.0.2.1:40000 > 198.51.100.2:21 carrying "PASV\r\n".
func encapsulated(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 21, Seq: 1, Ack: 1, ACK: true, PSH: true, Window: 512}
	var ip gopacket.NetworkLayer
	for _, l := range ls {
		if n, ok := l.(gopacket.NetworkLayer); ok {
			ip = n
		}
	}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	all := append(ls, tcp, gopacket.Payload("PASV\r\n"))
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, all...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func ethernetLayer(typ layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: typ}
}

func ipv4(proto layers.IPProtocol, src, dst string) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
}

func ipv6(next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
}

// TestDecodeEncapsulations: FTP inside MPLS, PPPoE, GRE and behind IPv6
// extension headers is decoded as TCP with the inner addresses, as tshark
// decodes it; an IPv6 fragment behind a destination-options header stays
// a fragment.
func TestDecodeEncapsulations(t *testing.T) {
	destOpts := func(next layers.IPProtocol) *layers.IPv6Destination {
		d := &layers.IPv6Destination{}
		d.NextHeader = next
		d.Options = []*layers.IPv6DestinationOption{{OptionType: 1, OptionData: []byte{0, 0, 0, 0}}}
		return d
	}
	hopByHop := func(next layers.IPProtocol) *layers.IPv6HopByHop {
		h := &layers.IPv6HopByHop{}
		h.NextHeader = next
		h.Options = []*layers.IPv6HopByHopOption{{OptionType: 1, OptionData: []byte{0, 0, 0, 0}}}
		return h
	}
	v4 := []string{"192.0.2.1", "198.51.100.2"}
	v6 := []string{"2001:db8::1", "2001:db8::2"}
	tests := []struct {
		name     string
		frame    func(t *testing.T) []byte
		kind     Kind
		src, dst string
	}{
		{"MPLS, two labels", func(t *testing.T) []byte {
			return encapsulated(t, ethernetLayer(layers.EthernetTypeMPLSUnicast), &layers.MPLS{Label: 100, TTL: 64},
				&layers.MPLS{Label: 200, StackBottom: true, TTL: 64}, ipv4(layers.IPProtocolTCP, v4[0], v4[1]))
		}, KindTCP, v4[0], v4[1]},
		{"PPPoE session", func(t *testing.T) []byte {
			return encapsulated(t, ethernetLayer(layers.EthernetTypePPPoESession),
				&layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 7},
				&layers.PPP{PPPType: layers.PPPTypeIPv4}, ipv4(layers.IPProtocolTCP, v4[0], v4[1]))
		}, KindTCP, v4[0], v4[1]},
		{"GRE", func(t *testing.T) []byte {
			return encapsulated(t, ethernetLayer(layers.EthernetTypeIPv4), ipv4(layers.IPProtocolGRE, "203.0.113.1", "203.0.113.2"),
				&layers.GRE{Protocol: layers.EthernetTypeIPv4}, ipv4(layers.IPProtocolTCP, v4[0], v4[1]))
		}, KindTCP, v4[0], v4[1]},
		{"IPv6 destination options", func(t *testing.T) []byte {
			return encapsulated(t, ethernetLayer(layers.EthernetTypeIPv6), ipv6(layers.IPProtocolIPv6Destination), destOpts(layers.IPProtocolTCP))
		}, KindTCP, v6[0], v6[1]},
		{"IPv6 hop-by-hop then destination options", func(t *testing.T) []byte {
			return encapsulated(t, ethernetLayer(layers.EthernetTypeIPv6), ipv6(layers.IPProtocolIPv6HopByHop),
				hopByHop(layers.IPProtocolIPv6Destination), destOpts(layers.IPProtocolTCP))
		}, KindTCP, v6[0], v6[1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.frame(t)
			d := NewDecoder().Decode(&Packet{Data: data, LinkType: layers.LinkTypeEthernet})
			if d.Kind != tt.kind || d.Src != netip.MustParseAddr(tt.src) || d.Dst != netip.MustParseAddr(tt.dst) {
				t.Fatalf("kind %v %v > %v (%s), want %v %s > %s", d.Kind, d.Src, d.Dst, d.Problem, tt.kind, tt.src, tt.dst)
			}
			if d.TCP.DstPort != 21 || string(d.TCP.Payload) != "PASV\r\n" || d.PayloadLen != 6 {
				t.Errorf("port %d, payload %q, length %d", d.TCP.DstPort, d.TCP.Payload, d.PayloadLen)
			}
		})
	}
}

// TestMPLSWithoutBottomIsMalformed: a label stack that never ends is cut
// short, not read past the packet.
func TestMPLSWithoutBottomIsMalformed(t *testing.T) {
	eth := ethernetLayer(layers.EthernetTypeMPLSUnicast)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{}, eth, gopacket.Payload{0, 0, 0, 64, 0, 0, 0, 64}); err != nil {
		t.Fatal(err)
	}
	d := NewDecoder().Decode(&Packet{Data: buf.Bytes(), LinkType: layers.LinkTypeEthernet})
	if d.Kind != KindMalformed {
		t.Errorf("kind %v, want malformed", d.Kind)
	}
}
