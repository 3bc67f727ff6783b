package pcap

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// IPTTL returns the TTL (or hop limit) of the IP header that follows the
// link header of a frame, if that header's source is src. Frames whose IP
// header lies deeper (MPLS, PPPoE, tunnels, whose outer TTL is not the
// conversation's) answer false: the vantage point is then unknown.
func IPTTL(lt layers.LinkType, data []byte, src netip.Addr) (uint8, bool) {
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
