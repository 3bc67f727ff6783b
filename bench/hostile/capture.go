package main

import (
	"bufio"
	"net/netip"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ftpdiag/internal/pktbuild"
)

// capture writes a raw-IP pcap packet by packet, so that a shape of
// millions of packets costs no memory to build.
type capture struct {
	f     *os.File
	bw    *bufio.Writer
	w     *pcapgo.Writer
	now   time.Time
	frame []byte
	err   error
}

func newCapture(path string) (*capture, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriterNanos(bw)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		f.Close()
		return nil, err
	}
	return &capture{f: f, bw: bw, w: w, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, nil
}

func (c *capture) emit(src, dst netip.Addr, tcp pktbuild.TCP, payload []byte) {
	if c.err != nil {
		return
	}
	c.frame = pktbuild.Frame{IP: pktbuild.IP{Src: src, Dst: dst, TTL: 64}, TCP: tcp, Payload: payload, NoChecksums: true}.AppendTo(c.frame[:0])
	c.now = c.now.Add(100 * time.Microsecond)
	c.err = c.w.WritePacket(gopacket.CaptureInfo{Timestamp: c.now, CaptureLength: len(c.frame), Length: len(c.frame)}, c.frame)
}

func (c *capture) close() error {
	if err := c.bw.Flush(); err != nil && c.err == nil {
		c.err = err
	}
	if err := c.f.Close(); err != nil && c.err == nil {
		c.err = err
	}
	return c.err
}

// conv is one TCP connection of a capture.
type conv struct {
	c        *capture
	cli, srv netip.AddrPort
	seq      [2]uint32
}

const (
	client = 0
	server = 1
)

func (c *capture) conv(cli, srv netip.AddrPort) *conv {
	return &conv{c: c, cli: cli, srv: srv, seq: [2]uint32{1000, 5000}}
}

// packet sends one segment from side with flags and payload.
func (v *conv) packet(side int, flags pktbuild.Flags, payload string) {
	src, dst := v.cli, v.srv
	if side == server {
		src, dst = dst, src
	}
	tcp := pktbuild.TCP{SrcPort: src.Port(), DstPort: dst.Port(), Seq: v.seq[side], Ack: v.seq[1-side], Flags: flags, Window: 65000}
	if flags.Has(pktbuild.SYN) {
		tcp.Options = pktbuild.Options{}.MSS(1460)
	}
	v.c.emit(src.Addr(), dst.Addr(), tcp, []byte(payload))
	v.seq[side] += uint32(len(payload))
	if flags&(pktbuild.SYN|pktbuild.FIN) != 0 {
		v.seq[side]++
	}
}

const (
	syn = pktbuild.SYN
	ack = pktbuild.ACK
	fin = pktbuild.FIN
	psh = pktbuild.PSH | pktbuild.ACK
)

func (v *conv) open() *conv {
	v.packet(client, syn, "")
	v.packet(server, syn|ack, "")
	v.packet(client, ack, "")
	return v
}

// say sends text from side, acknowledged by the peer.
func (v *conv) say(side int, text string) {
	v.packet(side, psh, text)
	v.packet(1-side, ack, "")
}

func (v *conv) close() {
	v.packet(client, fin|ack, "")
	v.packet(server, fin|ack, "")
	v.packet(client, ack, "")
}

// login opens a control connection and logs in.
func (c *capture) login(cli, srv netip.AddrPort) *conv {
	v := c.conv(cli, srv).open()
	v.say(server, "220 FTP ready\r\n")
	v.say(client, "USER anonymous\r\n")
	v.say(server, "331 Please specify the password.\r\n")
	v.say(client, "PASS guest\r\n")
	v.say(server, "230 Login successful.\r\n")
	return v
}
