package pktbuild

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"
)

var be = binary.BigEndian

// Header lengths, in bytes.
const (
	EthernetLen = 14 // Ethernet II header, no VLAN tag
	IPv4Len     = 20 // IPv4 header without options
	IPv6Len     = 40 // IPv6 header without extension headers
	TCPLen      = 20 // TCP header without options
	// MinEthernetFrame is the length of the shortest Ethernet frame, FCS
	// not counted; a shorter one is padded with zeros.
	MinEthernetFrame = 60
)

// EtherTypes of the protocols the capture builders write.
const (
	EtherTypeIPv4 uint16 = 0x0800
	EtherTypeARP  uint16 = 0x0806
	EtherTypeIPv6 uint16 = 0x86dd
)

// IP protocol numbers of the protocols the capture builders write.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
)

// Flags are the flag bits of a TCP header.
type Flags uint8

// The TCP flags, as the header's 14th byte holds them.
const (
	FIN Flags = 0x01
	SYN Flags = 0x02
	RST Flags = 0x04
	PSH Flags = 0x08
	ACK Flags = 0x10
)

// Has reports whether every bit of x is set in f.
func (f Flags) Has(x Flags) bool { return f&x == x }

// Ethernet holds an Ethernet II header's addresses.
type Ethernet struct {
	Dst, Src [6]byte
}

// Put writes the header, with EtherType typ, into b and returns its
// length, EthernetLen.
func (e Ethernet) Put(b []byte, typ uint16) int {
	copy(b[0:6], e.Dst[:])
	copy(b[6:12], e.Src[:])
	be.PutUint16(b[12:], typ)
	return EthernetLen
}

// IP holds what an IPv4 or IPv6 header says besides its lengths, protocol
// and checksum. The addresses choose the version: both must be IPv4, or
// both IPv6; methods panic otherwise.
type IP struct {
	Src, Dst     netip.Addr
	TTL          uint8  // TTL, or the IPv6 hop limit
	ID           uint16 // IPv4 identification
	DontFragment bool   // IPv4 DF flag
	FlowLabel    uint32 // IPv6 flow label, 20 bits
}

// Len returns the header's length, IPv4Len or IPv6Len.
func (ip IP) Len() int {
	if ip.Src.Is4() {
		return IPv4Len
	}
	return IPv6Len
}

// EtherType returns the EtherType of an Ethernet frame carrying ip.
func (ip IP) EtherType() uint16 {
	if ip.Src.Is4() {
		return EtherTypeIPv4
	}
	return EtherTypeIPv6
}

// Put writes the header of a packet carrying n bytes of protocol proto
// into b, the IPv4 header checksum included, and returns its length.
func (ip IP) Put(b []byte, proto uint8, n int) int {
	if !ip.Src.Is4() {
		be.PutUint32(b[0:], 6<<28|ip.FlowLabel&0xfffff)
		be.PutUint16(b[4:], uint16(n))
		b[6] = proto
		b[7] = ip.TTL
		src, dst := ip.Src.As16(), ip.Dst.As16()
		copy(b[8:24], src[:])
		copy(b[24:40], dst[:])
		return IPv6Len
	}
	b[0] = 4<<4 | IPv4Len/4
	b[1] = 0 // DSCP, ECN
	be.PutUint16(b[2:], uint16(IPv4Len+n))
	be.PutUint16(b[4:], ip.ID)
	var frag uint16
	if ip.DontFragment {
		frag = 0x4000
	}
	be.PutUint16(b[6:], frag)
	b[8] = ip.TTL
	b[9] = proto
	b[10], b[11] = 0, 0
	src, dst := ip.Src.As4(), ip.Dst.As4()
	copy(b[12:16], src[:])
	copy(b[16:20], dst[:])
	be.PutUint16(b[10:], Checksum(b[:IPv4Len]))
	return IPv4Len
}

// TransportChecksum returns the checksum of seg, a TCP or UDP segment or
// an ICMPv6 message of protocol proto carried in ip, whose checksum field
// is zero: the pseudo-header is included. (UDP sends a result of 0 as
// 0xffff; that is the caller's to do.)
func (ip IP) TransportChecksum(proto uint8, seg []byte) uint16 {
	var acc uint64
	if ip.Src.Is4() {
		src, dst := ip.Src.As4(), ip.Dst.As4()
		acc = sum(sum(0, src[:]), dst[:])
	} else {
		src, dst := ip.Src.As16(), ip.Dst.As16()
		acc = sum(sum(0, src[:]), dst[:])
	}
	acc, carry := bits.Add64(acc, uint64(proto)+uint64(len(seg)), 0)
	return fold(sum(acc+carry, seg))
}

// TCP holds a TCP header's fields. The checksum is not among them: it
// covers the payload and the IP pseudo-header, so it is computed once
// those are in place (see IP.TransportChecksum).
type TCP struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            Flags
	Window           uint16
	// Options are the header's options in wire format; Put pads them
	// with zeros to a multiple of four bytes.
	Options Options
}

// Len returns the header's length: TCPLen and the padded options.
func (t TCP) Len() int { return TCPLen + (len(t.Options)+3)&^3 }

// Put writes the header into b with a zero checksum and returns its
// length.
func (t TCP) Put(b []byte) int {
	n := t.Len()
	be.PutUint16(b[0:], t.SrcPort)
	be.PutUint16(b[2:], t.DstPort)
	be.PutUint32(b[4:], t.Seq)
	be.PutUint32(b[8:], t.Ack)
	b[12] = byte(n/4) << 4
	b[13] = byte(t.Flags)
	be.PutUint16(b[14:], t.Window)
	b[16], b[17], b[18], b[19] = 0, 0, 0, 0 // checksum, urgent pointer
	end := TCPLen + copy(b[TCPLen:], t.Options)
	clear(b[end:n])
	return n
}

// Frame is one TCP segment in an IPv4 or IPv6 packet, in an Ethernet
// frame or bare (a raw IP link).
type Frame struct {
	Ethernet *Ethernet // nil: the frame starts at the IP header
	IP       IP
	TCP      TCP
	Payload  []byte
	// Unpadded leaves an Ethernet frame shorter than MinEthernetFrame as
	// it is, as a capture on the sending host shows it; otherwise the
	// frame is padded with zeros, as the wire carries it.
	Unpadded bool
	// NoChecksums leaves the IPv4 header and TCP checksums zero, for
	// captures whose readers never check them.
	NoChecksums bool
}

// AppendTo appends the frame to b and returns the extended slice.
func (f Frame) AppendTo(b []byte) []byte {
	link := 0
	if f.Ethernet != nil {
		link = EthernetLen
	}
	ipLen, tcpLen := f.IP.Len(), f.TCP.Len()
	n := link + ipLen + tcpLen + len(f.Payload)
	size := n
	if f.Ethernet != nil && !f.Unpadded {
		size = max(n, MinEthernetFrame)
	}
	start := len(b)
	b = slices.Grow(b, size)[:start+size]
	fr := b[start:]
	if f.Ethernet != nil {
		f.Ethernet.Put(fr, f.IP.EtherType())
	}
	seg := fr[link+ipLen : n]
	f.TCP.Put(seg)
	copy(seg[tcpLen:], f.Payload)
	f.IP.Put(fr[link:], ProtoTCP, len(seg))
	if f.NoChecksums {
		if ipLen == IPv4Len {
			fr[link+10], fr[link+11] = 0, 0
		}
	} else {
		be.PutUint16(seg[16:], f.IP.TransportChecksum(ProtoTCP, seg))
	}
	clear(fr[n:])
	return b
}
