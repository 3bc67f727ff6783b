package gen

import (
	"cmp"
	"slices"

	"ftpdiag/internal/pktbuild"
)

// TCP flags, short names for the plans.
const (
	flagFIN = pktbuild.FIN
	flagSYN = pktbuild.SYN
	flagRST = pktbuild.RST
	flagPSH = pktbuild.PSH
	flagACK = pktbuild.ACK
)

// TCP option layouts.
const (
	optNone = iota // no options (a RST answering a SYN)
	optTS          // NOP, NOP, timestamps: 12 bytes
	optSYN         // MSS, SACK permitted, timestamps, NOP, window scale: 20 bytes
)

var optLen = [...]int{optNone: 0, optTS: 12, optSYN: 20}

// Payload kinds: how the player fills an entry's n payload bytes.
const (
	payNone        = iota
	payLine        // f.texts[aux], whole, in one segment
	payStream      // f.texts[aux] from this direction's stream offset
	payRandom      // bytes from the random pool
	payTLS         // TLS application data records; aux > 0 starts a flight of aux bytes
	payClientHello // a TLS 1.3 ClientHello naming f.name
	payServerHello // ServerHello and ChangeCipherSpec
	payDNSQuery    // f.dns as a query
	payDNSResponse // f.dns as a response
	payEchoRequest // ICMP echo request, sequence aux
	payEchoReply   // ICMP echo reply, sequence aux
	payUnreachable // ICMP port unreachable quoting f.quote
	payARPRequest  // ARP who-has
	payARPReply    // ARP is-at
)

// Transport protocols of a conn.
const (
	protoTCP = iota
	protoUDP
	protoICMP
	protoARP
)

// ent is one planned packet. Entries are planned in full when a flow
// starts, sorted by time, and played in order; the player derives sequence
// numbers, timestamps and checksums as it goes.
type ent struct {
	t     int64          // capture time, microseconds since 1970
	n     uint32         // transport payload length
	aux   uint32         // kind-specific, see the pay constants; for a pure ACK, the acknowledged point (relative), or 0 for all
	conn  uint8          // index into flow.conns
	dir   uint8          // 0: from conn.ep[0] (the initiator), 1: from ep[1]
	flags pktbuild.Flags // TCP flags
	kind  uint8          // payload kind
	opt   uint8          // TCP option layout
}

// host is an addressable machine as seen at the capture point.
type host struct {
	ip  [16]byte // IPv4 in the first 4 bytes
	mac [6]byte  // its own MAC if local, the gateway's if remote
	ttl uint8    // TTL or hop limit of its packets at the capture point
}

// endpoint is a host and port.
type endpoint struct {
	host
	port uint16
}

// tlsState tracks the TLS record framing of one direction of a stream.
type tlsState struct {
	flight int     // bytes left in the current flight, headers included
	rec    int     // body bytes left in the current record
	hdrPos int     // next byte of hdr to emit; 5 when none is pending
	hdr    [5]byte // the current record's header
}

// conn is one connection (or UDP, ICMP, ARP exchange) of a flow, with the
// state the player needs to number its packets.
type conn struct {
	proto  uint8
	v6     bool
	class  Class
	ep     [2]endpoint
	isn    [2]uint32
	sent   [2]uint32 // sequence space used: SYN, payload, FIN
	synned [2]bool
	finned [2]bool
	ts0    [2]uint32
	lastTS [2]uint32
	ipid   [2]uint16
	win    [2]uint16
	wscale [2]uint8
	mss    [2]uint16
	label  [2]uint32
	tls    [2]tlsState
	// planned is the sequence space each side has used so far in the
	// plan, for ACKs that acknowledge a given point.
	planned [2]uint32
}

// dnsMsg is what a DNS flow asks and is answered.
type dnsMsg struct {
	id      uint16
	qtype   uint16
	rcode   uint8
	answers uint8
	ttl     uint32
	seed    uint32
}

// flow is a unit of planned traffic: one TCP connection, one DNS exchange,
// a ping, an ARP exchange, or an FTP session with its data connections.
type flow struct {
	id    uint64 // spawn order, breaks heap ties
	ents  []ent
	next  int
	conns []conn
	texts []string
	bytes int64 // file bytes planned
	salt  uint64
	name  string // TLS server name or DNS query name
	dns   dnsMsg
	quote []byte // the datagram an ICMP error quotes
	echoT int64  // time of the last echo request
}

// reset empties f for reuse, keeping its slices' storage.
func (f *flow) reset(id, salt uint64) {
	clear(f.conns)
	clear(f.texts)
	*f = flow{
		id: id, salt: salt,
		ents: f.ents[:0], conns: f.conns[:0], texts: f.texts[:0], quote: f.quote[:0],
	}
}

// at returns the time of f's next packet.
func (f *flow) at() int64 { return f.ents[f.next].t }

// add plans a packet.
func (f *flow) add(t int64, c int, dir uint8, flags pktbuild.Flags, kind, opt uint8, n int, aux uint32) {
	f.ents = append(f.ents, ent{t: t, n: uint32(n), aux: aux, conn: uint8(c), dir: dir, flags: flags, kind: kind, opt: opt})
}

// text stores s and returns its index for an entry's aux.
func (f *flow) text(s string) uint32 {
	f.texts = append(f.texts, s)
	return uint32(len(f.texts) - 1)
}

// seal sorts the plan by time, keeping the planned order of simultaneous
// packets, and returns the file bytes it will take.
func (f *flow) seal(recOverhead func(frameLen int) int) {
	slices.SortStableFunc(f.ents, func(a, b ent) int { return cmp.Compare(a.t, b.t) })
	f.bytes = 0
	for i := range f.ents {
		f.bytes += int64(recOverhead(f.frameLen(&f.ents[i])))
	}
}

// Frame layout constants.
const (
	ethLen     = pktbuild.EthernetLen
	ipv4Len    = pktbuild.IPv4Len
	ipv6Len    = pktbuild.IPv6Len
	tcpLen     = pktbuild.TCPLen
	udpLen     = 8
	icmpLen    = 8
	arpLen     = 28
	minFrame   = pktbuild.MinEthernetFrame
	maxPayload = 1500 - ipv4Len - tcpLen
	maxFrame   = ethLen + 1500
)

// frameLen returns the length of the frame e becomes.
func (f *flow) frameLen(e *ent) int {
	c := &f.conns[e.conn]
	n := ethLen
	if c.proto == protoARP {
		return minFrame
	}
	if c.v6 {
		n += ipv6Len
	} else {
		n += ipv4Len
	}
	switch c.proto {
	case protoTCP:
		n += tcpLen + optLen[e.opt]
	case protoUDP:
		n += udpLen
	case protoICMP:
		n += icmpLen
	}
	n += int(e.n)
	return max(n, minFrame)
}

// tcpPlan plans the packets of one TCP connection of a flow, as seen from a
// capture point next to one of its ends.
type tcpPlan struct {
	f    *flow
	g    *generator
	c    int
	near uint8 // the side next to the capture point
	rtt  int64 // round-trip time between the ends, µs
	gap  int64 // spacing of back-to-back full segments at the bottleneck, µs
}

// seg plans one segment. Each side's segments must be planned in time
// order.
func (p *tcpPlan) seg(t int64, d uint8, flags pktbuild.Flags, kind uint8, n int, aux uint32) {
	opt := uint8(optTS)
	c := &p.f.conns[p.c]
	switch {
	case flags&flagSYN != 0:
		opt = optSYN
		c.planned[d] = 1
	case flags&flagFIN != 0:
		c.planned[d] += uint32(n) + 1
	default:
		c.planned[d] += uint32(n)
	}
	p.f.add(t, p.c, d, flags, kind, opt, n, aux)
}

// ack plans a pure ACK of everything the other side has sent.
func (p *tcpPlan) ack(t int64, d uint8) { p.seg(t, d, flagACK, payNone, 0, 0) }

// ackTo plans a pure ACK of the other side's sequence space up to the
// relative point upTo.
func (p *tcpPlan) ackTo(t int64, d uint8, upTo uint32) { p.seg(t, d, flagACK, payNone, 0, upTo) }

// lat returns the delay, at the capture point, between a packet from side d
// and the other side's immediate answer: a host turnaround when that side
// is near, a round trip when it is far.
func (p *tcpPlan) lat(d uint8) int64 {
	if 1-d == p.near {
		return p.g.between(15, 120)
	}
	return p.rtt + p.g.between(20, 300)
}

// mss returns the payload of a full segment sent by side d.
func (p *tcpPlan) mss(d uint8) int {
	c := &p.f.conns[p.c]
	return int(min(c.mss[0], c.mss[1])) - optLen[optTS]
}

// handshake plans SYN, SYN-ACK and ACK from t and returns the ACK's time.
func (p *tcpPlan) handshake(t int64) int64 {
	p.seg(t, 0, flagSYN, payNone, 0, 0)
	t += p.lat(0)
	p.seg(t, 1, flagSYN|flagACK, payNone, 0, 0)
	t += p.lat(1)
	p.ack(t, 0)
	return t
}

// synRetries plans SYNs from side 0 at t, t+1s, t+3s, ... (Linux's
// doubling retransmission timeout) while they fall before until, and
// returns the time of the last.
func (p *tcpPlan) synRetries(t, until int64) int64 {
	last, rto := t, int64(1e6)
	for t < until {
		p.seg(t, 0, flagSYN, payNone, 0, 0)
		last = t
		t += rto
		rto *= 2
	}
	return last
}

// refuse plans a RST|ACK answering a SYN, with no options.
func (p *tcpPlan) refuse(t int64, d uint8) {
	p.f.add(t, p.c, d, flagRST|flagACK, payNone, optNone, 0, 0)
}

// bulk plans n payload bytes from side d starting at t, in full segments
// under slow start (initial window 10, doubling each round trip, the pace
// of the bottleneck), acknowledged by the other side every second segment.
// The first segment carries firstAux, the others aux. It returns the time
// of the last data segment and of the last ACK.
func (p *tcpPlan) bulk(t int64, d uint8, n int, kind uint8, firstAux, aux uint32) (lastData, lastAck int64) {
	mss := p.mss(d)
	ackLat := p.lat(d)
	cwnd, pending, sent := 10, 0, 0
	a := firstAux
	round := t
	lastData, lastAck = t, t
	for sent < n {
		tt := round
		for k := 0; k < cwnd && sent < n; k++ {
			sz := min(mss, n-sent)
			flags := flagACK
			if sent+sz == n {
				flags |= flagPSH
			}
			p.seg(tt, d, flags, kind, sz, a)
			a = aux
			sent += sz
			lastData = tt
			if pending++; pending == 2 {
				lastAck = tt + ackLat
				p.ackTo(lastAck, 1-d, p.f.conns[p.c].planned[d])
				pending = 0
			}
			tt += p.gap + p.g.between(0, p.gap/4+1)
		}
		round = max(round+p.rtt, tt)
		cwnd = min(cwnd*2, 4096)
	}
	if pending > 0 {
		lastAck = lastData + ackLat + p.g.between(20, 500) // quick ACK of the odd segment
		p.ackTo(lastAck, 1-d, p.f.conns[p.c].planned[d])
	}
	return lastData, lastAck
}

// close plans an orderly close begun by side d at t: FIN, FIN from the
// other side, last ACK. It returns the last packet's time.
func (p *tcpPlan) close(t int64, d uint8) int64 {
	p.seg(t, d, flagFIN|flagACK, payNone, 0, 0)
	t += p.lat(d)
	p.seg(t, 1-d, flagFIN|flagACK, payNone, 0, 0)
	t += p.lat(1 - d)
	p.ack(t, d)
	return t
}
