package pktbuild

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var (
	cli4 = netip.MustParseAddr("198.51.100.10")
	srv4 = netip.MustParseAddr("203.0.113.5")
	cli6 = netip.MustParseAddr("2001:db8::10")
	srv6 = netip.MustParseAddr("2001:db8::5")
	// ones sums to 0xffff in every word: the pseudo-header's running sum
	// carries out of 64 bits.
	ones = netip.AddrFrom16([16]byte{0: 0xff, 1: 0xff, 2: 0xff, 3: 0xff, 4: 0xff, 5: 0xff, 6: 0xff, 7: 0xff,
		8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff})
	eth = &Ethernet{Dst: [6]byte{2, 0, 0, 0, 0, 0x10}, Src: [6]byte{2, 0, 0, 0, 0, 0x01}}
)

var frameTests = []struct {
	name    string
	f       Frame
	wantLen int
}{
	{"ethernet/ipv4/syn", Frame{Ethernet: eth,
		IP:  IP{Src: cli4, Dst: srv4, TTL: 64, ID: 0x1234, DontFragment: true},
		TCP: TCP{SrcPort: 40000, DstPort: 21, Seq: 1000, Flags: SYN, Window: 64240, Options: Options{}.MSS(1460).SACKPermitted().Timestamps(1, 0).NOP().WindowScale(7)}},
		14 + 20 + 40},
	{"ethernet/ipv4/ack padded", Frame{Ethernet: eth,
		IP:  IP{Src: srv4, Dst: cli4, TTL: 128, ID: 7},
		TCP: TCP{SrcPort: 21, DstPort: 40000, Seq: 5001, Ack: 1001, Flags: ACK, Window: 1026}},
		60},
	{"ethernet/ipv4/ack unpadded", Frame{Ethernet: eth, Unpadded: true,
		IP:  IP{Src: srv4, Dst: cli4, TTL: 64},
		TCP: TCP{SrcPort: 443, DstPort: 1024, Flags: SYN | ACK, Window: 0xffff}},
		54},
	{"ethernet/ipv4/odd payload", Frame{Ethernet: eth,
		IP:      IP{Src: srv4, Dst: cli4, TTL: 62, DontFragment: true},
		TCP:     TCP{SrcPort: 21, DstPort: 40000, Seq: 0xfffffff0, Ack: 3, Flags: PSH | ACK, Window: 502, Options: Options{}.NOP().NOP().Timestamps(0xdeadbeef, 42)},
		Payload: []byte("220 FTP ready.\r\n!")},
		14 + 20 + 32 + 17},
	{"raw/ipv4/mss", Frame{
		IP:  IP{Src: cli4, Dst: srv4, TTL: 64, ID: 3},
		TCP: TCP{SrcPort: 40000, DstPort: 21, Seq: 1000, Flags: SYN, Window: 65000, Options: Options{}.MSS(1460)}},
		20 + 24},
	{"raw/ipv4/options padded", Frame{
		IP:  IP{Src: cli4, Dst: srv4, TTL: 64},
		TCP: TCP{SrcPort: 1, DstPort: 2, Flags: SYN, Options: Options{}.WindowScale(8)}},
		20 + 24},
	{"raw/ipv6/payload", Frame{
		IP:      IP{Src: cli6, Dst: srv6, TTL: 64},
		TCP:     TCP{SrcPort: 50000, DstPort: 21, Seq: 1, Ack: 2, Flags: PSH | ACK, Window: 65000},
		Payload: []byte("USER anonymous\r\n")},
		40 + 20 + 16},
	{"ethernet/ipv6/flow label", Frame{Ethernet: eth,
		IP:  IP{Src: srv6, Dst: cli6, TTL: 57, FlowLabel: 0xabcde},
		TCP: TCP{SrcPort: 443, DstPort: 50000, Flags: RST | ACK}},
		14 + 40 + 20},
	{"raw/ipv6/pseudo-header carry", Frame{
		IP:      IP{Src: ones, Dst: ones, TTL: 255},
		TCP:     TCP{SrcPort: 0xffff, DstPort: 0xffff, Seq: 0xffffffff, Ack: 0xffffffff, Flags: ACK, Window: 0xffff},
		Payload: bytes.Repeat([]byte{0xff}, 33)},
		40 + 20 + 33},
	{"ethernet/ipv4/no checksums", Frame{Ethernet: eth, Unpadded: true, NoChecksums: true,
		IP:      IP{Src: cli4, Dst: srv4, TTL: 64, DontFragment: true},
		TCP:     TCP{SrcPort: 1024, DstPort: 443, Seq: 9, Flags: SYN, Window: 0xffff},
		Payload: []byte("xx")},
		14 + 20 + 20 + 2},
}

// TestFrameAppendTo decodes each frame with gopacket and checks lengths,
// checksums and fields; where gopacket can build the same frame, the bytes
// must be the same too.
func TestFrameAppendTo(t *testing.T) {
	for _, tt := range frameTests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("kept")
			got := tt.f.AppendTo(prefix)
			if !bytes.Equal(got[:len(prefix)], []byte("kept")) {
				t.Fatalf("AppendTo overwrote what b held: % x", got[:len(prefix)])
			}
			frame := got[len(prefix):]
			if len(frame) != tt.wantLen {
				t.Errorf("frame length %d, want %d", len(frame), tt.wantLen)
			}
			// Every byte is written: a reused buffer's old contents
			// must not show through.
			dirty := bytes.Repeat([]byte{0xaa}, 2000)
			if again := tt.f.AppendTo(dirty[:0]); !bytes.Equal(again, frame) {
				t.Errorf("into a dirty buffer:\n% x\nwant\n% x", again, frame)
			}
			checkDecoded(t, tt.f, frame)
			if !tt.f.NoChecksums && (tt.f.Ethernet == nil || !tt.f.Unpadded) {
				if want := gopacketFrame(t, tt.f); !bytes.Equal(frame, want) {
					t.Errorf("AppendTo:\n% x\ngopacket.SerializeLayers:\n% x", frame, want)
				}
			}
		})
	}
}

func checkDecoded(t *testing.T, f Frame, frame []byte) {
	t.Helper()
	first := gopacket.Decoder(layers.LayerTypeIPv4)
	switch {
	case f.Ethernet != nil:
		first = layers.LayerTypeEthernet
	case !f.IP.Src.Is4():
		first = layers.LayerTypeIPv6
	}
	p := gopacket.NewPacket(frame, first, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("decoding: %v", el.Error())
	}
	if f.Ethernet != nil {
		e := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		if !bytes.Equal(e.DstMAC, f.Ethernet.Dst[:]) || !bytes.Equal(e.SrcMAC, f.Ethernet.Src[:]) {
			t.Errorf("Ethernet %v > %v, want %v > %v", e.SrcMAC, e.DstMAC, f.Ethernet.Src, f.Ethernet.Dst)
		}
	}
	tcp, ok := p.TransportLayer().(*layers.TCP)
	if !ok {
		t.Fatalf("no TCP layer: %v", p)
	}
	var nl gopacket.NetworkLayer
	switch ip := p.NetworkLayer().(type) {
	case *layers.IPv4:
		nl = ip
		if ip.IHL != 5 || int(ip.Length) != len(ip.Contents)+len(ip.Payload) {
			t.Errorf("IPv4 IHL %d, length %d; carries %d+%d", ip.IHL, ip.Length, len(ip.Contents), len(ip.Payload))
		}
		if ip.TTL != f.IP.TTL || ip.Id != f.IP.ID || (ip.Flags == layers.IPv4DontFragment) != f.IP.DontFragment {
			t.Errorf("IPv4 TTL %d, ID %d, flags %v; want %+v", ip.TTL, ip.Id, ip.Flags, f.IP)
		}
		if _, r := ip.VerifyChecksum(); f.NoChecksums && ip.Checksum != 0 || !f.NoChecksums && !r.Valid {
			t.Errorf("IPv4 checksum %#04x, correct %#04x", r.Actual, r.Correct)
		}
	case *layers.IPv6:
		nl = ip
		if int(ip.Length) != len(ip.Payload) || ip.HopLimit != f.IP.TTL || ip.FlowLabel != f.IP.FlowLabel {
			t.Errorf("IPv6 length %d, hop limit %d, flow label %#x; carries %d, want %+v", ip.Length, ip.HopLimit, ip.FlowLabel, len(ip.Payload), f.IP)
		}
	default:
		t.Fatalf("no IP layer: %v", p)
	}
	if src, dst := nl.NetworkFlow().Endpoints(); src.String() != f.IP.Src.String() || dst.String() != f.IP.Dst.String() {
		t.Errorf("addresses %v > %v, want %v > %v", src, dst, f.IP.Src, f.IP.Dst)
	}
	if err := tcp.SetNetworkLayerForChecksum(nl); err != nil {
		t.Fatal(err)
	}
	if err, r := tcp.VerifyChecksum(); err != nil || f.NoChecksums && tcp.Checksum != 0 || !f.NoChecksums && !r.Valid {
		t.Errorf("TCP checksum %#04x, correct %#04x (%v)", r.Actual, r.Correct, err)
	}
	if int(tcp.DataOffset)*4 != f.TCP.Len() || !bytes.Equal(tcp.Payload, f.Payload) {
		t.Errorf("TCP header %d bytes, payload %q; want %d, %q", tcp.DataOffset*4, tcp.Payload, f.TCP.Len(), f.Payload)
	}
	if uint16(tcp.SrcPort) != f.TCP.SrcPort || uint16(tcp.DstPort) != f.TCP.DstPort ||
		tcp.Seq != f.TCP.Seq || tcp.Ack != f.TCP.Ack || tcp.Window != f.TCP.Window ||
		tcp.SYN != f.TCP.Flags.Has(SYN) || tcp.ACK != f.TCP.Flags.Has(ACK) || tcp.FIN != f.TCP.Flags.Has(FIN) ||
		tcp.RST != f.TCP.Flags.Has(RST) || tcp.PSH != f.TCP.Flags.Has(PSH) {
		t.Errorf("TCP header %d > %d seq %d ack %d win %d SYN %t ACK %t FIN %t RST %t PSH %t; want %+v",
			tcp.SrcPort, tcp.DstPort, tcp.Seq, tcp.Ack, tcp.Window, tcp.SYN, tcp.ACK, tcp.FIN, tcp.RST, tcp.PSH, f.TCP)
	}
	var opts []byte
	for _, o := range tcp.Options {
		opts = append(opts, byte(o.OptionType))
		if o.OptionType > 1 {
			opts = append(opts, o.OptionLength)
			opts = append(opts, o.OptionData...)
		}
	}
	if want := padded(f.TCP.Options); !bytes.Equal(opts, want) {
		t.Errorf("TCP options decode as % x, want % x", opts, want)
	}
}

// padded returns o as the header holds it, zero-padded to 32 bits; gopacket
// decodes each zero as an end-of-options option.
func padded(o Options) []byte {
	b := append([]byte(nil), o...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// gopacketFrame builds f with gopacket's layers, as the capture builders
// did before they shared this package.
func gopacketFrame(t *testing.T, f Frame) []byte {
	t.Helper()
	tcp := &layers.TCP{SrcPort: layers.TCPPort(f.TCP.SrcPort), DstPort: layers.TCPPort(f.TCP.DstPort),
		Seq: f.TCP.Seq, Ack: f.TCP.Ack, Window: f.TCP.Window,
		FIN: f.TCP.Flags.Has(FIN), SYN: f.TCP.Flags.Has(SYN), RST: f.TCP.Flags.Has(RST),
		PSH: f.TCP.Flags.Has(PSH), ACK: f.TCP.Flags.Has(ACK)}
	for o := f.TCP.Options; len(o) > 0; {
		if o[0] <= 1 {
			tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKind(o[0])})
			o = o[1:]
			continue
		}
		tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKind(o[0]), OptionLength: o[1], OptionData: o[2:o[1]]})
		o = o[o[1]:]
	}
	var ls []gopacket.SerializableLayer
	if f.Ethernet != nil {
		typ := layers.EthernetTypeIPv4
		if !f.IP.Src.Is4() {
			typ = layers.EthernetTypeIPv6
		}
		ls = append(ls, &layers.Ethernet{DstMAC: net.HardwareAddr(f.Ethernet.Dst[:]), SrcMAC: net.HardwareAddr(f.Ethernet.Src[:]), EthernetType: typ})
	}
	var nl gopacket.NetworkLayer
	if f.IP.Src.Is4() {
		ip := &layers.IPv4{Version: 4, TTL: f.IP.TTL, Id: f.IP.ID, Protocol: layers.IPProtocolTCP,
			SrcIP: f.IP.Src.AsSlice(), DstIP: f.IP.Dst.AsSlice()}
		if f.IP.DontFragment {
			ip.Flags = layers.IPv4DontFragment
		}
		ls, nl = append(ls, ip), ip
	} else {
		ip := &layers.IPv6{Version: 6, HopLimit: f.IP.TTL, FlowLabel: f.IP.FlowLabel, NextHeader: layers.IPProtocolTCP,
			SrcIP: f.IP.Src.AsSlice(), DstIP: f.IP.Dst.AsSlice()}
		ls, nl = append(ls, ip), ip
	}
	if err := tcp.SetNetworkLayerForChecksum(nl); err != nil {
		t.Fatal(err)
	}
	ls = append(ls, tcp, gopacket.Payload(f.Payload))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		got  Options
		want []byte
	}{
		{"linux SYN", Options{}.MSS(1460).SACKPermitted().Timestamps(0x01020304, 0).NOP().WindowScale(7),
			[]byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7}},
		{"windows SYN", Options{}.MSS(1460).NOP().WindowScale(8).NOP().NOP().SACKPermitted(),
			[]byte{2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2}},
		{"timestamps", Options{}.NOP().NOP().Timestamps(0xdeadbeef, 0xfeedface),
			[]byte{1, 1, 8, 10, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed, 0xfa, 0xce}},
		{"none", Options{}, []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !bytes.Equal(tt.got, tt.want) {
				t.Errorf("got % x, want % x", []byte(tt.got), tt.want)
			}
			if n, want := (TCP{Options: tt.got}).Len(), TCPLen+(len(tt.want)+3)/4*4; n != want {
				t.Errorf("TCP{Options: % x}.Len() = %d, want %d", []byte(tt.got), n, want)
			}
		})
	}
}
