package gen

import (
	"encoding/binary"
	"math/bits"
)

var be = binary.BigEndian

// csum adds b to a ones'-complement running sum. Every b but the last
// must have an even length.
func csum(acc uint64, b []byte) uint64 {
	var c uint64
	for len(b) >= 32 {
		acc, c = bits.Add64(acc, be.Uint64(b), c)
		acc, c = bits.Add64(acc, be.Uint64(b[8:]), c)
		acc, c = bits.Add64(acc, be.Uint64(b[16:]), c)
		acc, c = bits.Add64(acc, be.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, be.Uint64(b), c)
		b = b[8:]
	}
	if len(b) > 0 {
		var tail [8]byte
		copy(tail[:], b)
		acc, c = bits.Add64(acc, be.Uint64(tail[:]), c)
	}
	acc, c = bits.Add64(acc, c, 0)
	return acc + c
}

// fold finishes a running sum into the checksum field's value.
func fold(acc uint64) uint16 {
	s := (acc >> 32) + (acc & 0xffffffff)
	s = (s >> 32) + (s & 0xffffffff)
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	return ^uint16(s)
}

// pseudo returns the running sum of the IPv4 or IPv6 pseudo-header.
func pseudo(c *conn, d uint8, proto uint8, length int) uint64 {
	src, dst := &c.ep[d].ip, &c.ep[1-d].ip
	var acc uint64
	if c.v6 {
		acc = csum(0, src[:])
		acc = csum(acc, dst[:])
	} else {
		acc = csum(0, src[:4])
		acc = csum(acc, dst[:4])
	}
	return acc + uint64(proto) + uint64(length)
}

// IP protocol numbers.
const (
	ipTCP    = 6
	ipUDP    = 17
	ipICMP   = 1
	ipICMPv6 = 58
)

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
	copy(b[0:6], dst.mac[:])
	copy(b[6:12], src.mac[:])
	ip := b[ethLen:]
	var ipHdr int
	var l4proto uint8
	switch c.proto {
	case protoTCP:
		l4proto = ipTCP
	case protoUDP:
		l4proto = ipUDP
	default:
		l4proto = ipICMP
		if c.v6 {
			l4proto = ipICMPv6
		}
	}
	l4 := ip[ipv4Len:]
	if c.v6 {
		l4 = ip[ipv6Len:]
	}
	var l4len int
	switch c.proto {
	case protoTCP:
		l4len = g.buildTCP(l4, f, c, e)
	case protoUDP:
		l4len = g.buildUDP(l4, f, c, e)
	default:
		l4len = g.buildICMP(l4, f, c, e)
	}
	if c.v6 {
		be.PutUint16(b[12:], 0x86dd)
		be.PutUint32(ip[0:], 6<<28|c.label[d])
		be.PutUint16(ip[4:], uint16(l4len))
		ip[6] = l4proto
		ip[7] = src.ttl
		copy(ip[8:24], src.ip[:])
		copy(ip[24:40], dst.ip[:])
		ipHdr = ipv6Len
	} else {
		be.PutUint16(b[12:], 0x0800)
		ip[0] = 0x45
		ip[1] = 0
		be.PutUint16(ip[2:], uint16(ipv4Len+l4len))
		be.PutUint16(ip[4:], c.ipid[d])
		c.ipid[d]++
		be.PutUint16(ip[6:], 0x4000) // DF
		ip[8] = src.ttl
		ip[9] = l4proto
		ip[10], ip[11] = 0, 0
		copy(ip[12:16], src.ip[:4])
		copy(ip[16:20], dst.ip[:4])
		be.PutUint16(ip[10:], fold(csum(0, ip[:ipv4Len])))
		ipHdr = ipv4Len
	}
	// The checksum goes last: it covers the pseudo-header.
	var at int
	switch c.proto {
	case protoTCP:
		at = 16
	case protoUDP:
		at = 6
	default:
		at = 2
	}
	var acc uint64
	if l4proto != ipICMP {
		acc = pseudo(c, d, l4proto, l4len)
	}
	sum := fold(csum(acc, l4[:l4len]))
	if l4proto == ipUDP && sum == 0 {
		sum = 0xffff
	}
	be.PutUint16(l4[at:], sum)
	if c.proto == protoUDP && e.kind == payRandom {
		// A probe: keep its IP header and first 8 bytes for the ICMP
		// error that quotes it.
		f.quote = append(f.quote[:0], ip[:ipHdr+8]...)
	}
	n := ethLen + ipHdr + l4len
	if n < minFrame {
		clear(b[n:minFrame])
		n = minFrame
	}
	return n
}

// buildTCP writes e's TCP segment with a zero checksum and returns its
// length.
func (g *generator) buildTCP(b []byte, f *flow, c *conn, e *ent) int {
	d := e.dir
	be.PutUint16(b[0:], c.ep[d].port)
	be.PutUint16(b[2:], c.ep[1-d].port)
	var seq, ack uint32
	switch {
	case e.flags&flagSYN != 0:
		seq = c.isn[d]
		c.sent[d] = 1
		c.synned[d] = true
	case e.flags&flagRST != 0 && !c.synned[d]:
		seq = 0 // a RST answering a SYN, from no socket
	default:
		seq = c.isn[d] + c.sent[d]
	}
	if e.flags&flagACK != 0 {
		ack = c.isn[1-d] + c.sent[1-d]
		if e.kind == payNone && e.aux != 0 && e.aux < c.sent[1-d] {
			ack = c.isn[1-d] + e.aux
		}
	}
	be.PutUint32(b[4:], seq)
	be.PutUint32(b[8:], ack)
	hl := tcpLen + optLen[e.opt]
	b[12] = byte(hl/4) << 4
	b[13] = e.flags
	win := c.win[d]
	if e.flags&flagSYN != 0 {
		win = 64240
		if d == 1 {
			win = 65160
		}
	} else if e.flags&flagRST != 0 && !c.synned[d] {
		win = 0
	}
	be.PutUint16(b[14:], win)
	b[16], b[17], b[18], b[19] = 0, 0, 0, 0
	o := b[tcpLen:]
	tsval := c.ts0[d] + uint32(e.t/1000)
	tsecr := c.lastTS[1-d]
	switch e.opt {
	case optSYN:
		o[0], o[1] = 2, 4
		be.PutUint16(o[2:], c.mss[d])
		o[4], o[5] = 4, 2 // SACK permitted
		o[6], o[7] = 8, 10
		be.PutUint32(o[8:], tsval)
		if d == 0 {
			tsecr = 0
		}
		be.PutUint32(o[12:], tsecr)
		o[16] = 1
		o[17], o[18], o[19] = 3, 3, c.wscale[d]
		c.lastTS[d] = tsval
	case optTS:
		o[0], o[1], o[2], o[3] = 1, 1, 8, 10
		be.PutUint32(o[4:], tsval)
		be.PutUint32(o[8:], tsecr)
		c.lastTS[d] = tsval
	}
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
	if e.kind == payARPRequest {
		copy(b[0:6], broadcastMAC[:])
	} else {
		copy(b[0:6], dst.mac[:])
	}
	copy(b[6:12], src.mac[:])
	be.PutUint16(b[12:], 0x0806)
	a := b[ethLen:]
	be.PutUint16(a[0:], 1)      // Ethernet
	be.PutUint16(a[2:], 0x0800) // IPv4
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
