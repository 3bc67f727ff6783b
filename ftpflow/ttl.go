package ftpflow

import (
	"net/netip"

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
	if v, ok := pcap.IPTTL(p.LinkType, p.Data, src); ok {
		c.TTL[side].add(v)
	}
}
