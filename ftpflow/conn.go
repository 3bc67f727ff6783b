package ftpflow

import (
	"net/netip"
	"time"

	"ftpdiag/pcap"
)

// Event is a moment of the capture: the frame that shows it and its time.
// The zero Event means "not seen".
type Event struct {
	// Input is the index of the capture file among those analysed together.
	Input int
	// Frame is the 1-based frame number within that file, as in Wireshark.
	Frame int
	// Time is the capture timestamp.
	Time time.Time
}

// Seen reports whether the event happened in the capture.
func (e Event) Seen() bool { return e.Frame != 0 }

// Side names one end of a TCP connection: the client sent the first SYN.
type Side uint8

// The two ends of a connection, usable as indexes of per-direction arrays.
const (
	Client Side = 0
	Server Side = 1
)

// String returns "client" or "server".
func (s Side) String() string {
	if s == Server {
		return "server"
	}
	return "client"
}

// MarshalText spells the side as String does.
func (s Side) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Other returns the opposite side.
func (s Side) Other() Side { return 1 - s }

// Reset records the first RST of a connection.
type Reset struct {
	From Side
	Event
}

// TooBig records an ICMP "fragmentation needed"/"packet too big" error that
// quotes a segment of the connection.
type TooBig struct {
	// From is the side whose segment was too big.
	From Side
	MTU  int
	// Router is the address that sent the ICMP error.
	Router netip.Addr
	Event
}

// PreviousIncarnation summarises the connection that used the same
// 5-tuple before this one, for TIME-WAIT reasoning.
type PreviousIncarnation struct {
	// ConnID is the earlier connection's ID.
	ConnID int
	// Client is the earlier connection's client (its roles may differ
	// from the new connection's).
	Client netip.AddrPort
	// Closed is when the earlier connection was last closed (its last FIN
	// or RST); zero when it never closed in the capture.
	Closed Event
	// Reset is true when the earlier connection ended with a RST, which
	// leaves no TIME-WAIT behind.
	Reset bool
	// FirstFIN is the side that closed first: the side that holds
	// TIME-WAIT afterwards.
	FirstFIN Side
	// BothFIN is true when both sides sent a FIN.
	BothFIN bool
	// LastSeq holds, per side, the sequence number just past the last byte
	// (or FIN) that side sent in the earlier connection.
	LastSeq [2]uint32
	// LastTSval holds, per side, the last TCP timestamp value sent, when
	// the timestamp option was in use (HasTS).
	LastTSval [2]uint32
	HasTS     [2]bool
}

// Conn is the life of one TCP connection, read from headers alone.
type Conn struct {
	// ID numbers connections in the order their first packet appeared.
	ID int
	// Client sent the first SYN; Server answered it. When the handshake is
	// not in the capture the roles are guessed (port 21, then the lower
	// port, is the server) and Handshake is false.
	Client, Server netip.AddrPort
	Handshake      bool
	First, Last    Event
	// SYNs lists the client's SYNs (the first and its retransmissions),
	// at most maxSYNEvents of them; SYNCount counts them all.
	SYNs     []Event
	SYNCount int
	// SYNACK is the server's first SYN-ACK; SYNACKCount counts them all.
	SYNACK      Event
	SYNACKCount int
	// HandshakeACK is the client's first ACK after the SYN-ACK. The
	// spacing of SYN, SYN-ACK and this ACK tells where the capture was
	// taken (see Vantage).
	HandshakeACK Event
	// ISN is the client's initial sequence number; TSval its SYN's
	// timestamp value when HasTS (for TIME-WAIT reasoning).
	ISN   uint32
	TSval uint32
	HasTS bool
	// Reset is the first RST, nil if none.
	Reset *Reset
	// FIN holds the first FIN of each side.
	FIN [2]Event
	// Bytes is the payload each side sent, from sequence numbers, so bytes
	// missing from the capture or cut by the snapshot length count too.
	Bytes [2]int64
	// Captured is the payload each side sent that the capture holds (new
	// segments only, at their on-the-wire length).
	Captured [2]int64
	// Packets counts the packets each side sent (duplicates excluded).
	Packets [2]int
	// Retransmissions counts payload segments that resent sequence space.
	Retransmissions [2]int
	// MSS is the maximum segment size each side announced in its SYN.
	MSS [2]int
	// MaxSegment is the largest payload each side sent in one segment.
	MaxSegment [2]int
	// LargeRetransmissions counts retransmitted segments larger than
	// smallSegment bytes (the MTU black hole's signature).
	LargeRetransmissions [2]int
	// Acked is, per side, how many of its payload bytes the peer
	// acknowledged.
	Acked [2]int64
	// FirstData and LastData are the first and last payload packets.
	FirstData, LastData Event
	// TooBig lists ICMP errors quoting this connection (at most a few).
	TooBig []TooBig
	// Previous is set when this connection reused the 5-tuple of an
	// earlier one seen in the capture.
	Previous *PreviousIncarnation
	// Duplicates counts packets seen twice by the capture (not by TCP).
	Duplicates int
	// TTL summarises, per side, the IP TTL of its first packets (see
	// Locate).
	TTL [2]TTLSeen

	dir     [2]seqState
	session *sessionState // the FTP session when this is a control connection
	offer   *Offer        // the announcement this data connection answered
	// enc is set on a connection paired with an encrypted session by
	// hosts and timing; rhythm on the control connection of an encrypted
	// session, whose TLS records time the pairing.
	enc    *EncryptedConn
	rhythm *controlRhythm
	probed bool // content probe for FTP done
	// holeAcked is set when the peer acknowledged past a hole in the
	// captured payload: the missing bytes arrived, the capture lost them,
	// and no retransmission will fill the hole.
	holeAcked  bool
	pinned     bool // kept whatever its idle time (control or data)
	inRecent   bool // in the tracker's list of recent unlinked SYNs
	closedAt   Event
	prev, next *Conn // LRU list links
	inList     *connList
}

// Established reports whether the three-way handshake completed, or, for a
// connection caught mid-stream, whether both sides sent packets.
func (c *Conn) Established() bool {
	if c.Handshake {
		return c.SYNACK.Seen()
	}
	return c.Packets[Client] > 0 && c.Packets[Server] > 0
}

// Closed reports whether the connection ended in the capture: a RST, or a
// FIN from both sides.
func (c *Conn) Closed() bool {
	return c.Reset != nil || (c.FIN[Client].Seen() && c.FIN[Server].Seen())
}

// Side returns which side of c the endpoint is.
func (c *Conn) Side(ep netip.AddrPort) Side {
	if ep == c.Client {
		return Client
	}
	return Server
}

// seqState follows one direction's sequence space.
type seqState struct {
	lastRel int64
	high    int64  // highest relative end of payload (or FIN) seen
	acked   int64  // highest relative ACK from the peer
	hole    int64  // end of a hole in the captured payload, 0 if none
	isn     uint32 // SYN's sequence number, when synSeen
	last    uint32
	tsval   uint32

	// the previous packet, to recognise capture duplicates
	dupTime        int64 // Unix nanoseconds; 0: no previous packet
	dupSeq, dupAck uint32
	dupLen         int32
	dupID          uint16
	dupFlags       uint8

	init, synSeen, hasTS bool
}

// rel turns a raw sequence number into a 64-bit one relative to the
// direction's start, following wraps of the 32-bit space.
func (s *seqState) rel(seq uint32) int64 {
	r := s.relOf(seq)
	s.last, s.lastRel = seq, r
	return r
}

// relOf is seq relative to the direction's start, like rel, for a
// sequence number that does not move the direction on (an ACK's).
func (s *seqState) relOf(seq uint32) int64 {
	return s.lastRel + int64(int32(seq-s.last))
}

// start anchors the sequence space at seq (the first sequence number seen).
func (s *seqState) start(seq uint32) {
	s.init = true
	s.last, s.lastRel = seq, 0
}

func flagBits(t *pcap.TCP) uint8 { return t.Flags }

// connKey names a connection whichever way a packet travels. It holds the
// addresses as 16-byte arrays, without netip.Addr's zone pointer, so that
// hashing and comparing it is cheap.
type connKey struct {
	a, b   [16]byte
	pa, pb uint16
}

func makeKey(src, dst netip.AddrPort) connKey {
	if lessAddrPort(dst, src) {
		src, dst = dst, src
	}
	return connKey{src.Addr().As16(), dst.Addr().As16(), src.Port(), dst.Port()}
}

func lessAddrPort(x, y netip.AddrPort) bool {
	if c := x.Addr().Compare(y.Addr()); c != 0 {
		return c < 0
	}
	return x.Port() < y.Port()
}

// connList is an intrusive doubly linked list of connections, most
// recently used at the front.
type connList struct {
	head, tail *Conn
	n          int
}

func (l *connList) pushFront(c *Conn) {
	c.inList = l
	c.prev, c.next = nil, l.head
	if l.head != nil {
		l.head.prev = c
	} else {
		l.tail = c
	}
	l.head = c
	l.n++
}

func (l *connList) remove(c *Conn) {
	if c.inList != l {
		return
	}
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next, c.inList = nil, nil, nil
	l.n--
}

func (l *connList) touch(c *Conn) {
	if l.head == c {
		return
	}
	l.remove(c)
	l.pushFront(c)
}
