// Package simtrace builds small packet captures in memory from scripted TCP
// conversations, for tests that need exact control over every packet (an
// out-of-order segment, a duplicate, a SYN left unanswered). Real captures
// of real software are in fixtures/; this is for unit tests and fuzz seeds.
package simtrace

import (
	"io"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ftpdiag/internal/pktbuild"
	"ftpdiag/pcap"
)

// Side names one end of a conversation.
type Side int

// The two ends: the client opens the connection.
const (
	Client Side = 0
	Server Side = 1
)

// Other returns the opposite side.
func (s Side) Other() Side { return 1 - s }

// Trace is a capture being built: packets as raw IP frames with
// timestamps one millisecond apart unless Wait says otherwise.
type Trace struct {
	Now     time.Time
	Packets []*pcap.Packet
}

// New returns an empty trace starting at a fixed time.
func New() *Trace {
	return &Trace{Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// Wait advances the clock.
func (t *Trace) Wait(d time.Duration) { t.Now = t.Now.Add(d) }

// Conv is one TCP connection's two sequence spaces.
type Conv struct {
	t        *Trace
	cli, srv netip.AddrPort
	// Seq holds the next sequence number of each side.
	Seq [2]uint32
}

// Conv starts a conversation between two "ip:port" endpoints.
func (t *Trace) Conv(cli, srv string) *Conv {
	return &Conv{t: t, cli: netip.MustParseAddrPort(cli), srv: netip.MustParseAddrPort(srv), Seq: [2]uint32{1000, 5000}}
}

// Packet emits one segment from side with flags (any of "SAFRP") and
// payload, advancing that side's sequence number.
func (c *Conv) Packet(side Side, flags string, payload string) *pcap.Packet {
	src, dst := c.cli, c.srv
	if side == Server {
		src, dst = dst, src
	}
	tcp := pktbuild.TCP{SrcPort: src.Port(), DstPort: dst.Port(),
		Seq: c.Seq[side], Ack: c.Seq[side.Other()], Window: 65000}
	for _, f := range flags {
		switch f {
		case 'S':
			tcp.Flags |= pktbuild.SYN
		case 'A':
			tcp.Flags |= pktbuild.ACK
		case 'F':
			tcp.Flags |= pktbuild.FIN
		case 'R':
			tcp.Flags |= pktbuild.RST
		case 'P':
			tcp.Flags |= pktbuild.PSH
		}
	}
	if tcp.Flags.Has(pktbuild.SYN) {
		tcp.Options = pktbuild.Options{}.MSS(1460)
	}
	p := c.t.emit(src.Addr(), dst.Addr(), tcp, []byte(payload))
	c.Seq[side] += uint32(len(payload))
	if tcp.Flags&(pktbuild.SYN|pktbuild.FIN) != 0 {
		c.Seq[side]++
	}
	return p
}

func (t *Trace) emit(src, dst netip.Addr, tcp pktbuild.TCP, payload []byte) *pcap.Packet {
	ip := pktbuild.IP{Src: src, Dst: dst, TTL: 64, ID: uint16(len(t.Packets))}
	data := pktbuild.Frame{IP: ip, TCP: tcp, Payload: payload}.AppendTo(nil)
	t.Wait(time.Millisecond)
	p := &pcap.Packet{Data: data, Timestamp: t.Now, LinkType: layers.LinkTypeRaw, Frame: len(t.Packets) + 1}
	p.OriginalLength = len(p.Data)
	t.Packets = append(t.Packets, p)
	return p
}

// Open performs the three-way handshake.
func (c *Conv) Open() *Conv {
	c.Packet(Client, "S", "")
	c.Packet(Server, "SA", "")
	c.Packet(Client, "A", "")
	return c
}

// Say sends data from a side and has the peer acknowledge it.
func (c *Conv) Say(side Side, text string) {
	c.Packet(side, "PA", text)
	c.Packet(side.Other(), "A", "")
}

// Close exchanges FINs, the given side first.
func (c *Conv) Close(first Side) {
	c.Packet(first, "FA", "")
	c.Packet(first.Other(), "FA", "")
	c.Packet(first, "A", "")
}

// Login opens an FTP control connection and logs in anonymously.
func (t *Trace) Login(cli, srv string) *Conv {
	c := t.Conv(cli, srv).Open()
	c.Say(Server, "220 FTP ready\r\n")
	c.Say(Client, "USER anonymous\r\n")
	c.Say(Server, "331 Please specify the password.\r\n")
	c.Say(Client, "PASS guest\r\n")
	c.Say(Server, "230 Login successful.\r\n")
	return c
}

// WritePcap writes the trace as a pcap file with raw IP link type.
func (t *Trace) WritePcap(w io.Writer) error {
	pw := pcapgo.NewWriterNanos(w)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		return err
	}
	for _, p := range t.Packets {
		ci := gopacket.CaptureInfo{Timestamp: p.Timestamp, CaptureLength: len(p.Data), Length: p.OriginalLength}
		if err := pw.WritePacket(ci, p.Data); err != nil {
			return err
		}
	}
	return nil
}

// FixedPortListings scripts n active-mode NLSTs on the control connection
// c, the client listening on the same port (198.51.100.10:20000) each time
// and the server connecting from port 20: every data connection has the
// same 5-tuple, each with a higher initial sequence number. gap separates
// the transfers.
func (t *Trace) FixedPortListings(c *Conv, n int, gap time.Duration) {
	for i := range n {
		c.Say(Client, "PORT 198,51,100,10,78,32\r\n")
		c.Say(Server, "200 PORT command successful.\r\n")
		c.Say(Client, "NLST\r\n")
		d := t.Conv("203.0.113.5:20", "198.51.100.10:20000")
		d.Seq = [2]uint32{uint32(7000 + 100000*i), 9000}
		d.Open()
		d.Say(Client, "a\r\n")
		d.Close(Client)
		c.Say(Server, "226 Transfer complete.\r\n")
		t.Wait(gap)
	}
}
