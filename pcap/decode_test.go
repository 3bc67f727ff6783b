package pcap

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// ipTCP serialises an IP+TCP packet (no link layer) with the given payload.
func ipTCP(t *testing.T, v6 bool, payload []byte) []byte {
	t.Helper()
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 21, Seq: 1000, Ack: 2000, ACK: true, PSH: true, Window: 512}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	var err error
	if v6 {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
			SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
		tcp.SetNetworkLayerForChecksum(ip)
		err = gopacket.SerializeLayers(buf, opts, ip, tcp, gopacket.Payload(payload))
	} else {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 77, Protocol: layers.IPProtocolTCP,
			SrcIP: net.IPv4(192, 0, 2, 1).To4(), DstIP: net.IPv4(198, 51, 100, 2).To4()}
		tcp.SetNetworkLayerForChecksum(ip)
		err = gopacket.SerializeLayers(buf, opts, ip, tcp, gopacket.Payload(payload))
	}
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func ether(ethType uint16, tags ...[2]uint16) []byte {
	b := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	for _, tag := range tags { // each: TPID of this tag, VLAN ID
		b = binary.BigEndian.AppendUint16(b, tag[0])
		b = binary.BigEndian.AppendUint16(b, tag[1])
	}
	return binary.BigEndian.AppendUint16(b, ethType)
}

func sll(ethType uint16) []byte {
	b := []byte{0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0}
	return binary.BigEndian.AppendUint16(b, ethType)
}

func sll2(ethType uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, ethType)
	b = append(b, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0)
	return b
}

func null(family uint32) []byte {
	return binary.LittleEndian.AppendUint32(nil, family)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func TestDecodeLinkTypes(t *testing.T) {
	payload := []byte("USER anonymous\r\n")
	v4 := ipTCP(t, false, payload)
	v6 := ipTCP(t, true, payload)
	src4, dst4 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2")
	src6, dst6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	tests := []struct {
		name     string
		lt       layers.LinkType
		data     []byte
		src, dst netip.Addr
	}{
		{"ethernet ipv4", layers.LinkTypeEthernet, cat(ether(0x0800), v4), src4, dst4},
		{"ethernet ipv6", layers.LinkTypeEthernet, cat(ether(0x86dd), v6), src6, dst6},
		{"802.1Q", layers.LinkTypeEthernet, cat(ether(0x0800, [2]uint16{0x8100, 20}), v4), src4, dst4},
		{"QinQ 802.1ad", layers.LinkTypeEthernet, cat(ether(0x0800, [2]uint16{0x88a8, 100}, [2]uint16{0x8100, 20}), v4), src4, dst4},
		{"linux sll", layers.LinkTypeLinuxSLL, cat(sll(0x0800), v4), src4, dst4},
		{"linux sll2 ipv6", layers.LinkTypeLinuxSLL2, cat(sll2(0x86dd), v6), src6, dst6},
		{"raw ipv4", layers.LinkTypeRaw, v4, src4, dst4},
		{"raw ipv6", layers.LinkTypeRaw, v6, src6, dst6},
		{"LINKTYPE_IPV4", layers.LinkTypeIPv4, v4, src4, dst4},
		{"bsd null ipv4", layers.LinkTypeNull, cat(null(2), v4), src4, dst4},
		{"bsd null ipv6 (darwin 30)", layers.LinkTypeNull, cat(null(30), v6), src6, dst6},
		{"openbsd loop", layers.LinkTypeLoop, cat(binary.BigEndian.AppendUint32(nil, 2), v4), src4, dst4},
	}
	d := NewDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := d.Decode(&Packet{Data: tt.data, LinkType: tt.lt})
			if got.Kind != KindTCP {
				t.Fatalf("kind %d (%s), want TCP", got.Kind, got.Problem)
			}
			if got.Src != tt.src || got.Dst != tt.dst {
				t.Errorf("addresses %v > %v, want %v > %v", got.Src, got.Dst, tt.src, tt.dst)
			}
			if got.TCP.SrcPort != 40000 || got.TCP.DstPort != 21 || got.PayloadLen != len(payload) || string(got.TCP.Payload) != string(payload) {
				t.Errorf("tcp %d>%d payload %d %q", got.TCP.SrcPort, got.TCP.DstPort, got.PayloadLen, got.TCP.Payload)
			}
		})
	}
}

func TestDecodeOddPackets(t *testing.T) {
	payload := make([]byte, 1000)
	v4 := ipTCP(t, false, payload)
	frag := append([]byte(nil), v4...)
	frag[6] |= 0x20 // more fragments
	badIHL := append([]byte(nil), v4...)
	badIHL[0] = 0x4f // IHL 60 bytes, longer than... the packet's TCP start
	tests := []struct {
		name       string
		lt         layers.LinkType
		data       []byte
		kind       Kind
		payloadLen int
	}{
		{"cut by snaplen counts the wire length", layers.LinkTypeRaw, v4[:100], KindTCP, 1000},
		{"fragment", layers.LinkTypeRaw, frag, KindFragment, 0},
		{"cut inside the IP header", layers.LinkTypeRaw, v4[:12], KindMalformed, 0},
		{"cut inside the TCP header", layers.LinkTypeRaw, v4[:30], KindMalformed, 0},
		{"IP header length lies", layers.LinkTypeRaw, badIHL, KindMalformed, 0},
		{"empty frame", layers.LinkTypeEthernet, nil, KindMalformed, 0},
		{"ARP", layers.LinkTypeEthernet, cat(ether(0x0806), make([]byte, 28)), KindOther, 0},
		{"LLDP", layers.LinkTypeEthernet, cat(ether(0x88cc), make([]byte, 28)), KindOther, 0},
		{"unknown EtherType (MACsec) may hide IP", layers.LinkTypeEthernet, cat(ether(0x88e5), v4), KindUndecoded, 0},
		{"unsupported link type", layers.LinkTypeIEEE802_11, v4, KindUnsupportedLink, 0},
	}
	d := NewDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := d.Decode(&Packet{Data: tt.data, LinkType: tt.lt})
			if got.Kind != tt.kind {
				t.Fatalf("kind %d (%q), want %d", got.Kind, got.Problem, tt.kind)
			}
			if tt.kind == KindTCP && got.PayloadLen != tt.payloadLen {
				t.Errorf("payload length %d, want %d (captured %d)", got.PayloadLen, tt.payloadLen, len(got.TCP.Payload))
			}
			if (tt.kind == KindMalformed || tt.kind == KindUnsupportedLink || tt.kind == KindUndecoded) && got.Problem == "" {
				t.Error("no problem description")
			}
		})
	}
}

func TestDecodeICMPTooBig(t *testing.T) {
	inner := ipTCP(t, false, make([]byte, 1400))[:28] // IP header + first 8 bytes of TCP
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 4), Seq: 576}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolICMPv4,
		SrcIP: net.IPv4(203, 0, 113, 1).To4(), DstIP: net.IPv4(192, 0, 2, 1).To4()}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, icmp, gopacket.Payload(inner)); err != nil {
		t.Fatal(err)
	}
	got := NewDecoder().Decode(&Packet{Data: buf.Bytes(), LinkType: layers.LinkTypeRaw})
	if got.Kind != KindTooBig || got.MTU != 576 {
		t.Fatalf("kind %d mtu %d, want too-big 576", got.Kind, got.MTU)
	}
	if got.QuotedSrc.String() != "192.0.2.1:40000" || got.QuotedDst.String() != "198.51.100.2:21" {
		t.Errorf("quoted %v > %v", got.QuotedSrc, got.QuotedDst)
	}
}

func BenchmarkDecode(b *testing.B) {
	t := &testing.T{}
	frame := cat(ether(0x0800), ipTCP(t, false, make([]byte, 1400)))
	p := &Packet{Data: frame, LinkType: layers.LinkTypeEthernet}
	d := NewDecoder()
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if d.Decode(p).Kind != KindTCP {
			b.Fatal("not TCP")
		}
	}
}
