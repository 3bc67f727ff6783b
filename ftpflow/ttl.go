package ftpflow

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket/layers"

	"ftpdiag/pcap"
)

// TTLSeen summarises the IP TTL (IPv6 hop limit) of one side's packets:
// how far they travelled before the capture point saw them.
type TTLSeen struct {
	// Min and Max are the lowest and highest values seen.
	Min, Max uint8
	// N counts the packets read (at most ttlSamples).
	N int
}

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

// recordTTL reads the TTL of one packet from side, while fewer than
// ttlSamples were read.
func (c *Conn) recordTTL(side Side, p *pcap.Packet, src netip.Addr) {
	if c.TTL[side].N >= ttlSamples {
		return
	}
	if v, ok := ipTTL(p.LinkType, p.Data, src); ok {
		c.TTL[side].add(v)
	}
}

// ipTTL returns the TTL (or hop limit) of the IP header that follows the
// link header of a frame, if that header's source is src. Frames whose IP
// header lies deeper (MPLS, PPPoE, tunnels, whose outer TTL is not the
// conversation's) answer false: the vantage point is then unknown.
func ipTTL(lt layers.LinkType, data []byte, src netip.Addr) (uint8, bool) {
	off, ok := ipOffset(lt, data)
	if !ok || off >= len(data) {
		return 0, false
	}
	ip := data[off:]
	switch {
	case ip[0]>>4 == 4 && len(ip) >= 20:
		a, _ := netip.AddrFromSlice(ip[12:16])
		return ip[8], a == src
	case ip[0]>>4 == 6 && len(ip) >= 40:
		a, _ := netip.AddrFromSlice(ip[8:24])
		return ip[7], a == src
	}
	return 0, false
}

// ipOffset finds where the IP header starts after a link header, for the
// link types whose IP header follows at once (Ethernet with VLAN tags,
// Linux cooked captures, loopback, raw IP).
func ipOffset(lt layers.LinkType, data []byte) (int, bool) {
	var etype uint16
	var off int
	switch lt {
	case layers.LinkTypeEthernet:
		off = 14
		if len(data) < off {
			return 0, false
		}
		etype = binary.BigEndian.Uint16(data[12:])
		for (etype == 0x8100 || etype == 0x88a8 || etype == 0x9100) && len(data) >= off+4 {
			etype = binary.BigEndian.Uint16(data[off+2:])
			off += 4
		}
	case layers.LinkTypeLinuxSLL:
		if off = 16; len(data) >= off {
			etype = binary.BigEndian.Uint16(data[14:])
		}
	case layers.LinkTypeLinuxSLL2:
		if off = 20; len(data) >= off {
			etype = binary.BigEndian.Uint16(data[0:])
		}
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return 4, true
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12, 14:
		return 0, true
	default:
		return 0, false
	}
	return off, etype == 0x0800 || etype == 0x86dd
}
