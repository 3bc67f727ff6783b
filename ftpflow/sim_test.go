package ftpflow

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"ftpdiag/pcap"
)

// trace builds a capture in memory from TCP conversations, for tests that
// need exact control over every packet.
type trace struct {
	t       *testing.T
	now     time.Time
	packets []*pcap.Packet
}

func newTrace(t *testing.T) *trace {
	return &trace{t: t, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// wait advances the clock.
func (tr *trace) wait(d time.Duration) { tr.now = tr.now.Add(d) }

// conv is one TCP connection's two sequence spaces.
type conv struct {
	tr       *trace
	cli, srv netip.AddrPort
	seq      [2]uint32
	ts       bool // add timestamp options
}

func (tr *trace) conv(cli, srv string) *conv {
	return &conv{tr: tr, cli: netip.MustParseAddrPort(cli), srv: netip.MustParseAddrPort(srv), seq: [2]uint32{1000, 5000}}
}

// packet emits one segment from side with the given flags and payload,
// advancing that side's sequence number.
func (c *conv) packet(side Side, flags string, payload string) *pcap.Packet {
	src, dst := c.cli, c.srv
	if side == Server {
		src, dst = dst, src
	}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
		Seq: c.seq[side], Ack: c.seq[side.Other()], Window: 65000}
	for _, f := range flags {
		switch f {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
		case 'F':
			tcp.FIN = true
		case 'R':
			tcp.RST = true
		case 'P':
			tcp.PSH = true
		}
	}
	if tcp.SYN {
		tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{5, 180}})
	}
	p := c.tr.emit(src.Addr(), dst.Addr(), tcp, []byte(payload))
	c.seq[side] += uint32(len(payload))
	if tcp.SYN || tcp.FIN {
		c.seq[side]++
	}
	return p
}

func (tr *trace) emit(src, dst netip.Addr, tcp *layers.TCP, payload []byte) *pcap.Packet {
	tr.t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	var ip gopacket.SerializableLayer
	if src.Is4() {
		ip4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: uint16(len(tr.packets)), Protocol: layers.IPProtocolTCP,
			SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
		tcp.SetNetworkLayerForChecksum(ip4)
		ip = ip4
	} else {
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
			SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
		tcp.SetNetworkLayerForChecksum(ip6)
		ip = ip6
	}
	if err := gopacket.SerializeLayers(buf, opts, ip, tcp, gopacket.Payload(payload)); err != nil {
		tr.t.Fatal(err)
	}
	tr.wait(time.Millisecond)
	p := &pcap.Packet{Data: append([]byte(nil), buf.Bytes()...), Timestamp: tr.now, LinkType: layers.LinkTypeRaw, Frame: len(tr.packets) + 1}
	p.OriginalLength = len(p.Data)
	tr.packets = append(tr.packets, p)
	return p
}

// open performs the three-way handshake.
func (c *conv) open() *conv {
	c.packet(Client, "S", "")
	c.packet(Server, "SA", "")
	c.packet(Client, "A", "")
	return c
}

// say sends data from a side and has the peer acknowledge it.
func (c *conv) say(side Side, text string) {
	c.packet(side, "PA", text)
	c.packet(side.Other(), "A", "")
}

// close exchanges FINs, the given side first.
func (c *conv) close(first Side) {
	c.packet(first, "FA", "")
	c.packet(first.Other(), "FA", "")
	c.packet(first, "A", "")
}

// run tracks the trace and returns the result.
func (tr *trace) run() *Result {
	tk := NewTracker(Config{})
	d := pcap.NewDecoder()
	for _, p := range tr.packets {
		tk.Packet(p, d.Decode(p))
	}
	return tk.Finish()
}

// login opens a control connection and logs in.
func (tr *trace) login(cli, srv string) *conv {
	c := tr.conv(cli, srv).open()
	c.say(Server, "220 FTP ready\r\n")
	c.say(Client, "USER anonymous\r\n")
	c.say(Server, "331 Please specify the password.\r\n")
	c.say(Client, "PASS guest\r\n")
	c.say(Server, "230 Login successful.\r\n")
	return c
}
