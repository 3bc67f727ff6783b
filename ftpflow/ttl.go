package ftpflow

import (
	"net/netip"

	"github.com/gopacket/gopacket/layers"

	"ftpdiag/pcap"
)

// TTLSeen summarises what one side's packets carry about the path they
// took to the capture point: their IP TTL (IPv6 hop limit), the Ethernet
// address that put them on the capture's link, and whether some of them
// reached it only after later ones (see Locate).
type TTLSeen struct {
	// Min and Max are the lowest and highest values seen.
	Min, Max uint8
	// N counts the packets read (at most ttlSamples).
	N int
	// Ether is the Ethernet source address of the same packets.
	Ether EtherSeen
	// Late counts segments of this side that reached the capture point
	// only after sequence space beyond them, before the peer acknowledged
	// them: resent after a loss, or reordered, before the capture point.
	// On a control connection it also counts those of its session's data
	// connections sent by the same FTP side.
	Late int
	// LateFrame is the first such segment.
	LateFrame Event

	order orderState // this side's sequence space, for Late
}

// EtherSeen summarises the Ethernet addresses of one side's packets
// (Ethernet captures only; all-zero sources, as on Linux loopback, are not
// counted).
type EtherSeen struct {
	// Src and Dst are the first packet's source and destination.
	Src, Dst [6]byte
	// N counts the packets whose addresses were read.
	N int
	// Varies is set when another source or destination followed.
	Varies bool
}

// Steady reports whether packets were read and all went from one address
// to one address.
func (e EtherSeen) Steady() bool { return e.N > 0 && !e.Varies }

func (e *EtherSeen) add(src, dst [6]byte) {
	if e.N > 0 && (src != e.Src || dst != e.Dst) {
		e.Varies = true
	}
	if e.N == 0 {
		e.Src, e.Dst = src, dst
	}
	e.N++
}

// orderState follows one side's sequence space far enough to see a
// segment arrive after later ones: the first byte of a gap (gapLo) is
// pending until a segment covers it (late) or the peer acknowledges past
// it (the capture missed it; nothing is learnt).
type orderState struct {
	high  uint32 // just past the highest payload byte (or SYN) seen
	gapLo uint32 // first byte missing when gap is set
	init  bool
	gap   bool
}

// segment accounts a segment of n payload bytes at seq (a SYN when syn)
// and reports whether it filled a pending gap from its first byte.
func (o *orderState) segment(seq uint32, n int, syn bool) bool {
	switch {
	case syn:
		o.high, o.init, o.gap = seq+1, true, false
		return false
	case n == 0:
		return false
	case !o.init:
		o.high, o.init = seq+uint32(n), true
		return false
	}
	end := seq + uint32(n)
	late := o.gap && seqLE(seq, o.gapLo) && seqLT(o.gapLo, end)
	if late {
		o.gap = false
	}
	if !o.gap && !late && seqLT(o.high, seq) {
		o.gapLo, o.gap = o.high, true
	}
	if seqLT(o.high, end) {
		o.high = end
	}
	return late
}

// acked accounts the peer's acknowledgement up to ack: past a pending
// gap's first byte, the missing bytes arrived without the capture seeing
// them, so the gap tells nothing.
func (o *orderState) acked(ack uint32) {
	if o.gap && seqLT(o.gapLo, ack) {
		o.gap = false
	}
}

func seqLT(a, b uint32) bool { return int32(a-b) < 0 }
func seqLE(a, b uint32) bool { return int32(a-b) <= 0 }

// ttlSamples bounds the packets per side whose TTL is read: the first
// ones tell, and reading more would only cost time.
const ttlSamples = 16

// Seen reports whether any packet's TTL was read.
func (t TTLSeen) Seen() bool { return t.N > 0 }

// Steady reports whether every packet read carried the same TTL. Packets
// of one side reaching one capture point by one path do; different values
// mean several capture points merged, or a path that changed.
func (t TTLSeen) Steady() bool { return t.N > 0 && t.Min == t.Max }

func (t *TTLSeen) add(v uint8) {
	if t.N == 0 || v < t.Min {
		t.Min = v
	}
	if t.N == 0 || v > t.Max {
		t.Max = v
	}
	t.N++
}

// recordPath reads what one packet from side says of its path: its TTL
// and Ethernet source while fewer than ttlSamples were read, and whether
// it reached the capture point late (every packet).
func (c *Conn) recordPath(side Side, p *pcap.Packet, d *pcap.Decoded) {
	if c.TTL[side].N < ttlSamples {
		c.recordTTL(side, p, d.Src)
	}
	tcp := d.TCP
	if tcp.ACK && !tcp.RST {
		c.TTL[side.Other()].order.acked(tcp.Ack)
	}
	if c.TTL[side].order.segment(tcp.Seq, d.PayloadLen, tcp.SYN) {
		c.late(side, Event{Input: p.Input, Frame: p.Frame, Time: p.Timestamp})
	}
}

// recordTTL reads the TTL and the Ethernet source of one packet from side.
func (c *Conn) recordTTL(side Side, p *pcap.Packet, src netip.Addr) {
	v, ok := pcap.IPTTL(p.LinkType, p.Data, src)
	if !ok {
		return
	}
	c.TTL[side].add(v)
	if p.LinkType != layers.LinkTypeEthernet || len(p.Data) < 14 {
		return
	}
	var from, to [6]byte
	copy(to[:], p.Data[0:6])
	copy(from[:], p.Data[6:12])
	if from != ([6]byte{}) && from[0]&1 == 0 { // not loopback's zeros, not a group address
		c.TTL[side].Ether.add(from, to)
	}
}

// late counts a late segment from side of c, and, when c is a data
// connection of a session, from the same FTP side of its control
// connection (in active mode the FTP server opens the data connection).
func (c *Conn) late(side Side, ev Event) {
	c.TTL[side].noteLate(ev)
	o := c.offer
	if o == nil || o.session == nil || o.session.Control == nil || o.session.Control == c {
		return
	}
	if !o.Passive() {
		side = side.Other()
	}
	o.session.Control.TTL[side].noteLate(ev)
}

func (t *TTLSeen) noteLate(ev Event) {
	if t.Late == 0 {
		t.LateFrame = ev
	}
	t.Late++
}
