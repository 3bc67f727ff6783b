package gen

import (
	"encoding/binary"
	"net/netip"

	"ftpdiag/internal/pktbuild"
)

var be = binary.BigEndian

// gatewayMAC is the MAC of the router at the capture point, the next hop
// of every remote host; broadcastMAC is ff:ff:ff:ff:ff:ff.
var (
	gatewayMAC   = [6]byte{0x00, 0x00, 0x5e, 0x00, 0x01, 0x01}
	broadcastMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

// build writes the frame for e into b, which has room for maxFrame bytes,
// advances the conn's state, and returns the frame's length.
func (g *generator) build(b []byte, f *flow, e *ent) int {
	c := &f.conns[e.conn]
	d := e.dir
	src, dst := &c.ep[d], &c.ep[1-d]
	if c.proto == protoARP {
		return g.buildARP(b, c, e)
	}
	ip := pktbuild.IP{Src: src.addr(c.v6), Dst: dst.addr(c.v6), TTL: src.ttl}
	if c.v6 {
		ip.FlowLabel = c.label[d]
	} else {
		ip.ID = c.ipid[d]
		ip.DontFragment = true
		c.ipid[d]++
	}
	pktbuild.Ethernet{Dst: dst.mac, Src: src.mac}.Put(b, ip.EtherType())
	ipHdr := ip.Len()
	l4 := b[ethLen+ipHdr:]
	// Each builder leaves its checksum field, at offset at, zero.
	var proto uint8
	var l4len, at int
	switch c.proto {
	case protoTCP:
		proto, at = pktbuild.ProtoTCP, 16
		l4len = g.buildTCP(l4, f, c, e)
	case protoUDP:
		proto, at = pktbuild.ProtoUDP, 6
		l4len = g.buildUDP(l4, f, c, e)
	default:
		proto, at = pktbuild.ProtoICMP, 2
		if c.v6 {
			proto = pktbuild.ProtoICMPv6
		}
		l4len = g.buildICMP(l4, f, c, e)
	}
	ip.Put(b[ethLen:], proto, l4len)
	// The checksum goes last: it covers the payload and, but for ICMP
	// over IPv4, the pseudo-header.
	seg := l4[:l4len]
	var sum uint16
	switch proto {
	case pktbuild.ProtoICMP:
		sum = pktbuild.Checksum(seg)
	case pktbuild.ProtoUDP:
		if sum = ip.TransportChecksum(proto, seg); sum == 0 {
			sum = 0xffff
		}
	default:
		sum = ip.TransportChecksum(proto, seg)
	}
	be.PutUint16(seg[at:], sum)
	if c.proto == protoUDP && e.kind == payRandom {
		// A probe: keep its IP header and first 8 bytes for the ICMP
		// error that quotes it.
		f.quote = append(f.quote[:0], b[ethLen:ethLen+ipHdr+8]...)
	}
	n := ethLen + ipHdr + l4len
	if n < minFrame {
		clear(b[n:minFrame])
		n = minFrame
	}
	return n
}

// addr returns the host's address, IPv6 if v6.
func (h *host) addr(v6 bool) netip.Addr {
	if v6 {
		return netip.AddrFrom16(h.ip)
	}
	return netip.AddrFrom4([4]byte(h.ip[:4]))
}

// buildTCP writes e's TCP segment with a zero checksum and returns its
// length.
func (g *generator) buildTCP(b []byte, f *flow, c *conn, e *ent) int {
	d := e.dir
	tcp := pktbuild.TCP{SrcPort: c.ep[d].port, DstPort: c.ep[1-d].port, Flags: e.flags, Window: c.win[d]}
	switch {
	case e.flags&flagSYN != 0:
		tcp.Seq = c.isn[d]
		c.sent[d] = 1
		c.synned[d] = true
	case e.flags&flagRST != 0 && !c.synned[d]:
		tcp.Seq = 0 // a RST answering a SYN, from no socket
	default:
		tcp.Seq = c.isn[d] + c.sent[d]
	}
	if e.flags&flagACK != 0 {
		tcp.Ack = c.isn[1-d] + c.sent[1-d]
		if e.kind == payNone && e.aux != 0 && e.aux < c.sent[1-d] {
			tcp.Ack = c.isn[1-d] + e.aux
		}
	}
	if e.flags&flagSYN != 0 {
		tcp.Window = 64240
		if d == 1 {
			tcp.Window = 65160
		}
	} else if e.flags&flagRST != 0 && !c.synned[d] {
		tcp.Window = 0
	}
	var opts [20]byte
	tcp.Options = opts[:0]
	tsval := c.ts0[d] + uint32(e.t/1000)
	tsecr := c.lastTS[1-d]
	switch e.opt {
	case optSYN:
		if d == 0 {
			tsecr = 0
		}
		tcp.Options = tcp.Options.MSS(c.mss[d]).SACKPermitted().Timestamps(tsval, tsecr).NOP().WindowScale(c.wscale[d])
		c.lastTS[d] = tsval
	case optTS:
		tcp.Options = tcp.Options.NOP().NOP().Timestamps(tsval, tsecr)
		c.lastTS[d] = tsval
	}
	hl := tcp.Put(b)
	p := b[hl : hl+int(e.n)]
	g.fill(p, f, c, e)
	c.sent[d] += e.n
	if e.flags&flagFIN != 0 && !c.finned[d] {
		c.sent[d]++
		c.finned[d] = true
	}
	return hl + int(e.n)
}

// buildUDP writes e's datagram with a zero checksum and returns its length.
func (g *generator) buildUDP(b []byte, f *flow, c *conn, e *ent) int {
	d := e.dir
	n := udpLen + int(e.n)
	be.PutUint16(b[0:], c.ep[d].port)
	be.PutUint16(b[2:], c.ep[1-d].port)
	be.PutUint16(b[4:], uint16(n))
	b[6], b[7] = 0, 0
	g.fill(b[udpLen:n], f, c, e)
	return n
}

// buildICMP writes e's ICMP or ICMPv6 message with a zero checksum and
// returns its length.
func (g *generator) buildICMP(b []byte, f *flow, c *conn, e *ent) int {
	n := icmpLen + int(e.n)
	b[1] = 0
	b[2], b[3] = 0, 0
	switch e.kind {
	case payEchoRequest, payEchoReply:
		typ := byte(8)
		if e.kind == payEchoReply {
			typ = 0
		}
		if c.v6 {
			typ = 128
			if e.kind == payEchoReply {
				typ = 129
			}
		}
		b[0] = typ
		be.PutUint16(b[4:], uint16(f.salt))
		be.PutUint16(b[6:], uint16(e.aux))
		p := b[icmpLen:n]
		// iputils ping: a struct timeval, then bytes counting up from 0x10.
		if e.kind == payEchoRequest {
			f.echoT = e.t
		}
		sec, usec := f.echoT/1e6, f.echoT%1e6 // a reply echoes the request
		binary.LittleEndian.PutUint64(p[0:], uint64(sec))
		binary.LittleEndian.PutUint64(p[8:], uint64(usec))
		for i := 16; i < len(p); i++ {
			p[i] = byte(i)
		}
	case payUnreachable:
		if c.v6 {
			b[0], b[1] = 1, 4 // destination unreachable, port unreachable
		} else {
			b[0], b[1] = 3, 3
		}
		b[4], b[5], b[6], b[7] = 0, 0, 0, 0
		copy(b[icmpLen:n], f.quote)
	}
	return n
}

// buildARP writes e's ARP request or reply and returns the frame length.
func (g *generator) buildARP(b []byte, c *conn, e *ent) int {
	src, dst := &c.ep[e.dir], &c.ep[1-e.dir]
	eth := pktbuild.Ethernet{Dst: dst.mac, Src: src.mac}
	if e.kind == payARPRequest {
		eth.Dst = broadcastMAC
	}
	eth.Put(b, pktbuild.EtherTypeARP)
	a := b[ethLen:]
	be.PutUint16(a[0:], 1)                      // Ethernet
	be.PutUint16(a[2:], pktbuild.EtherTypeIPv4) // IPv4
	a[4], a[5] = 6, 4
	op := uint16(1)
	if e.kind == payARPReply {
		op = 2
	}
	be.PutUint16(a[6:], op)
	copy(a[8:14], src.mac[:])
	copy(a[14:18], src.ip[:4])
	if e.kind == payARPRequest {
		clear(a[18:24])
	} else {
		copy(a[18:24], dst.mac[:])
	}
	copy(a[24:28], dst.ip[:4])
	clear(b[ethLen+arpLen : minFrame])
	return minFrame
}
