package ftpflow

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"

	"ftpdiag/pcap"
	"ftpdiag/tlsdecrypt"
)

// Bounds and timeouts of the tracker. Every one is counted in Stats when
// it bites, so a report can say what it dropped.
const (
	// DefaultMaxConns bounds the connection table; beyond it the least
	// recently active connection that is not FTP is evicted.
	// About 1 KiB each: 128 Ki connections open at once cost ~150 MiB.
	DefaultMaxConns = 1 << 17
	// DefaultMaxSessions bounds the number of FTP sessions held at once
	// (those not yet over, and, without a SessionSink, all of them).
	DefaultMaxSessions = 100000
	// DefaultIdleTimeout evicts a non-FTP connection silent for this long
	// (capture time).
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultClosedLinger keeps a closed connection this long (capture
	// time) so its last ACKs and retransmitted FINs are not taken for a
	// new connection.
	DefaultClosedLinger = 5 * time.Second
	// DefaultSettleAfter is how long (capture time) a session whose
	// control connection has closed must stay quiet, with its closed data
	// connections, before it counts as over and is handed on (see
	// SessionSink); data connections still open must be silent for longer.
	// It exceeds DefaultClosedLinger so that closed connections have left
	// the table by then.
	DefaultSettleAfter = 10 * time.Second
	// DefaultTimeWait is how long the 5-tuple of a closed data connection
	// is remembered to recognise its reuse (2*MSL of old Windows stacks).
	DefaultTimeWait = 240 * time.Second

	maxSYNEvents     = 16
	maxLog           = 20000
	maxTooBig        = 8
	maxOfferConns    = 32
	maxPending       = 4096
	maxUnpaired      = 100
	maxInvalidOffers = 100
	maxOffersTracked = 1 << 16
	maxRecentSYNs    = 256
	maxFreeConns     = 1024
	recentSYNWindow  = 5 * time.Second
	// synRetryQuiet bounds how long a connection that only sent SYNs may
	// be silent and still retry: Linux's last wait is 32 s, doubled here.
	synRetryQuiet     = 64 * time.Second
	offerTTL          = 10 * time.Minute
	sweepEvery        = time.Second
	gapWait           = 3 * time.Second
	controlIdle       = 2 * time.Minute // the reassembler lets go of a control connection this idle; its session carries on
	duplicateWindow   = 2 * time.Millisecond
	smallSegment      = 536
	assemblerPagesCap = 4096
	assemblerConnCap  = 64
)

// Config holds the tracker's bounds. The zero value means the defaults.
type Config struct {
	// KeepLog keeps every session's control dialogue line by line
	// (Session.Log), for ladder diagrams; it costs memory in proportion to
	// the dialogue.
	KeepLog      bool
	MaxConns     int
	MaxSessions  int
	IdleTimeout  time.Duration
	ClosedLinger time.Duration
	TimeWait     time.Duration
	SettleAfter  time.Duration
	// KeyLog, if set, holds the TLS secrets to decrypt FTPS control
	// connections with (decrypt.go); the tracker only reads it, and a
	// caller may add secrets to it between packets (a pcapng Decryption
	// Secrets Block met while reading). Without it, or without the
	// secrets of a session, its encrypted dialogue is skipped.
	KeyLog *tlsdecrypt.KeyLog
	// Sink, if set, receives every session as soon as it is over, and
	// the tracker forgets it: memory then depends on the sessions open at
	// once, not on the length of the capture. Without a Sink, Finish
	// returns them all.
	Sink SessionSink
}

// A SessionSink receives the sessions of a capture while it is read. For
// each session Settled comes first, then Retired; sessions are handed on
// in a deterministic order. The sink must not keep the tracker's packets.
type SessionSink interface {
	// Settled is called once the session is over: its control connection
	// closed (or the capture ended) and nothing of it happened for
	// SettleAfter. Its transfers are judged; it no longer changes.
	Settled(s *Session)
	// Retired is called once, besides s, every session with the same
	// server address that announced a passive port, or was refused one,
	// before s ended has settled too. What those sessions did at the same
	// server (passive ports held, refused) while s lived is then all
	// known, so conclusions about s that depend on them are final. The
	// tracker forgets s after this call.
	Retired(s *Session)
}

func (c Config) withDefaults() Config {
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.ClosedLinger <= 0 {
		c.ClosedLinger = DefaultClosedLinger
	}
	if c.TimeWait <= 0 {
		c.TimeWait = DefaultTimeWait
	}
	if c.SettleAfter <= 0 {
		c.SettleAfter = DefaultSettleAfter
	}
	return c
}

// Stats counts what the tracker saw and what its bounds made it drop.
type Stats struct {
	Packets     int
	TCPPackets  int
	Connections int
	// Fragments counts IP fragments (not reassembled).
	Fragments int
	// Malformed counts packets whose headers are cut or inconsistent.
	Malformed int
	// UnsupportedLink counts packets of link types not decoded.
	UnsupportedLink int
	// Undecoded counts frames of a protocol no decoder knows (an unknown
	// EtherType), which may hide IP; FirstUndecoded names the first one.
	Undecoded      int
	FirstUndecoded string
	// Duplicates counts packets the capture holds twice.
	Duplicates int
	// ICMPTooBig counts ICMP "fragmentation needed"/"packet too big".
	ICMPTooBig int
	// EvictedConnections counts connections dropped because the table
	// was full (not those that closed or went idle).
	EvictedConnections int
	// DroppedSessions counts FTP sessions not tracked because the session
	// limit was reached.
	DroppedSessions int
	// DroppedOffers counts announcements not tracked for linking because
	// too many were pending.
	DroppedOffers int
	// TruncatedPayload counts TCP segments whose payload the snapshot
	// length cut.
	TruncatedPayload int
	// BackwardTimestamps counts packets older than one already seen.
	BackwardTimestamps int
}

// Result is what tracking a whole capture produced.
type Result struct {
	// Sessions lists the FTP sessions by ID (empty with a Sink).
	Sessions []*Session
	Stats    Stats
	// First and Last are the capture's first and last timestamps.
	First, Last time.Time
}

// Tracker follows every TCP connection of a capture, reassembles FTP
// control connections, and links announced endpoints to data connections.
// Feed it packets in capture order with Packet, then call Finish once.
type Tracker struct {
	cfg   Config
	conns map[connKey]*Conn
	// open holds live connections that are not FTP, least recently active
	// at the tail; pinned holds live FTP control and data connections;
	// closed holds connections that ended, waiting out ClosedLinger.
	open, pinned, closed connList
	nextConnID           int
	nextSessionID        int
	// sessions holds the sessions not yet over, in the order they began;
	// settled those over but not yet retired; done, without a Sink, the
	// retired ones.
	sessions, settled []*sessionState
	done              []*Session
	offers            map[netip.AddrPort]*Offer
	tlsHosts          map[hostPair]*Session
	closedData        map[connKey]closedTuple
	recent            []*Conn // recent unlinked SYNs, for offers parsed late
	// free holds connections that left the table and that nothing else
	// refers to, for reuse: most connections of a capture are not FTP.
	free []*Conn
	// lastKey and lastConn remember the connection of the previous TCP
	// packet, which is the current one's two times in three.
	lastKey    connKey
	lastConn   *Conn
	assembler  *reassembly.Assembler
	first, now time.Time
	lastSweep  time.Time
	// nowNs and sweepAtNs mirror now and lastSweep+sweepEvery in Unix
	// nanoseconds, for the per-packet checks.
	nowNs, sweepAtNs int64
	firstNs          int64
	stats            Stats
	fullTCP          layers.TCP // a control segment, decoded for the reassembler
	// bounds records what the bounds dropped (bounds.go).
	bounds boundsState
}

type hostPair struct{ a, b netip.Addr }

func makeHostPair(x, y netip.Addr) hostPair {
	if y.Less(x) {
		x, y = y, x
	}
	return hostPair{x, y}
}

// closedTuple remembers a closed data connection's 5-tuple after the
// connection itself left the table.
type closedTuple struct {
	prev PreviousIncarnation
	at   time.Time
}

// NewTracker returns a tracker with the given bounds.
func NewTracker(cfg Config) *Tracker {
	t := &Tracker{
		cfg:        cfg.withDefaults(),
		conns:      make(map[connKey]*Conn),
		offers:     make(map[netip.AddrPort]*Offer),
		tlsHosts:   make(map[hostPair]*Session),
		closedData: make(map[connKey]closedTuple),
	}
	pool := reassembly.NewStreamPool(&streamFactory{t: t})
	t.assembler = reassembly.NewAssembler(pool)
	t.assembler.MaxBufferedPagesTotal = assemblerPagesCap
	t.assembler.MaxBufferedPagesPerConnection = assemblerConnCap
	return t
}

// Packet takes one decoded packet. Packets must come in capture order;
// the decoded summary is not kept.
func (t *Tracker) Packet(p *pcap.Packet, d *pcap.Decoded) {
	t.stats.Packets++
	ev := Event{Input: p.Input, Frame: p.Frame, Time: p.Timestamp}
	ns := p.Timestamp.UnixNano()
	if t.stats.Packets == 1 || ns < t.firstNs {
		t.first, t.firstNs = p.Timestamp, ns
	}
	if ns > t.nowNs || t.stats.Packets == 1 {
		t.now, t.nowNs = p.Timestamp, ns
	} else if ns < t.nowNs {
		t.stats.BackwardTimestamps++
	}
	switch d.Kind {
	case pcap.KindTCP:
		t.stats.TCPPackets++
		if len(d.TCP.Payload) < d.PayloadLen {
			t.stats.TruncatedPayload++
		}
		t.tcp(p, ev, d)
	case pcap.KindTooBig:
		t.stats.ICMPTooBig++
		t.tooBig(ev, d)
	case pcap.KindFragment:
		t.stats.Fragments++
	case pcap.KindMalformed:
		t.stats.Malformed++
	case pcap.KindUnsupportedLink:
		t.stats.UnsupportedLink++
	case pcap.KindUndecoded:
		if t.stats.Undecoded == 0 {
			t.stats.FirstUndecoded = fmt.Sprintf("frame %d, %s", ev.Frame, d.Problem)
		}
		t.stats.Undecoded++
	}
	if t.nowNs >= t.sweepAtNs {
		t.sweep()
	}
}

func (t *Tracker) tcp(p *pcap.Packet, ev Event, d *pcap.Decoded) {
	tcp := d.TCP
	src := netip.AddrPortFrom(d.Src, tcp.SrcPort)
	dst := netip.AddrPortFrom(d.Dst, tcp.DstPort)
	k := makeKey(src, dst)
	c := t.lastConn
	if c == nil || t.lastKey != k {
		c = t.conns[k]
	}
	isSYN := tcp.SYN && !tcp.ACK
	var prev *PreviousIncarnation
	if c != nil && isSYN && c.newIncarnation(src, tcp.Seq) {
		p := c.summary()
		prev = &p
		t.drop(k, c)
		c = nil
	}
	if c == nil {
		c = t.newConn(k, src, dst, tcp, ev)
		if prev == nil {
			if ct, ok := t.closedData[k]; ok {
				p := ct.prev
				prev = &p
			}
		}
		c.Previous = prev
		t.link(c, src, dst, tcp)
	} else if c.inList != nil {
		c.inList.touch(c)
	}
	t.lastKey, t.lastConn = k, c
	side := c.Side(src)
	// Before the duplicate check: a copy of the packet taken at another
	// capture point (merged files) carries another TTL, which tells.
	c.recordPath(side, p, d)
	if c.duplicate(side, tcp, d, ev) {
		c.Duplicates++
		t.stats.Duplicates++
		return
	}
	wasClosed := c.Closed()
	c.update(side, tcp, d.PayloadLen, ev)
	if d.PayloadLen > 0 && (c.enc != nil || c.rhythm != nil) {
		c.observeTLS(side, tcp.Payload, d.PayloadLen, ev)
	}
	if !wasClosed && c.Closed() {
		c.closedAt = ev
		if c.inList != nil {
			c.inList.remove(c)
		}
		t.closed.pushFront(c)
	}
	if c.session == nil && !c.probed && (tcp.SYN || d.PayloadLen > 0 || c.Server.Port() == controlPort) && c.offer == nil {
		t.probe(c, side, tcp, d.PayloadLen)
	}
	if st := c.session; st != nil && !st.dropped && !st.released && !st.settled {
		if c.holeAcked {
			// Skip the hole now rather than after gapWait, so that both
			// directions of the dialogue stay in step.
			c.holeAcked = false
			t.assembler.FlushWithOptions(reassembly.FlushOptions{T: ev.Time.Add(time.Nanosecond)})
		}
		t.assemble(c, side, d, ev)
	}
}

// newConn records a connection at its first packet.
func (t *Tracker) newConn(k connKey, src, dst netip.AddrPort, tcp *pcap.TCP, ev Event) *Conn {
	if len(t.conns) >= t.cfg.MaxConns {
		t.evictOne()
	}
	t.nextConnID++
	t.stats.Connections++
	var c *Conn
	if n := len(t.free); n > 0 {
		c = t.free[n-1]
		t.free = t.free[:n-1]
		syns := c.SYNs[:0]
		*c = Conn{SYNs: syns}
	} else {
		c = new(Conn)
	}
	c.ID, c.First = t.nextConnID, ev
	switch {
	case tcp.SYN && !tcp.ACK:
		c.Client, c.Server, c.Handshake = src, dst, true
	case tcp.SYN && tcp.ACK:
		c.Client, c.Server = dst, src
	case serverGuess(src, dst):
		c.Client, c.Server = dst, src
	default:
		c.Client, c.Server = src, dst
	}
	t.conns[k] = c
	t.open.pushFront(c)
	return c
}

// observeTLS follows the TLS records of a segment of payload: the rhythm
// of an encrypted control connection, the records of a paired data
// connection.
func (c *Conn) observeTLS(side Side, p []byte, wire int, ev Event) {
	if c.rhythm != nil {
		c.rhythm.note(side, ev)
	}
	if c.enc != nil {
		c.enc.observe(side, c.dir[side].lastRel, p, wire, ev)
	}
}

// serverGuess reports whether src looks like the server of a connection
// caught without its SYN: the FTP control port, the other end of an active
// data connection from port 20, else the lower port.
func serverGuess(src, dst netip.AddrPort) bool {
	switch {
	case src.Port() == 21:
		return true
	case dst.Port() == 21:
		return false
	case src.Port() == 20:
		return false
	case dst.Port() == 20:
		return true
	}
	return src.Port() < dst.Port()
}

// drop removes a connection from the table; the Conn itself lives on in
// the sessions that refer to it.
func (t *Tracker) drop(k connKey, c *Conn) {
	t.leftTable(k, c)
	if c.inList != nil {
		c.inList.remove(c)
	}
	if c.offer != nil && c.Closed() {
		t.closedData[k] = closedTuple{prev: c.summary(), at: c.Last.Time}
	}
	delete(t.conns, k)
	if t.lastConn == c {
		t.lastConn = nil
	}
	if c.session == nil && c.offer == nil && !c.pinned && !c.inRecent && len(t.free) < maxFreeConns {
		t.free = append(t.free, c)
	}
}

// evictOne makes room in a full table by dropping the least recently
// active connection that is not part of an FTP session.
func (t *Tracker) evictOne() {
	c := t.closed.tail
	if c == nil {
		c = t.open.tail
		t.stats.EvictedConnections++
	}
	if c == nil {
		return
	}
	t.drop(makeKey(c.Client, c.Server), c)
}

// pin moves an FTP connection out of reach of idle eviction.
func (t *Tracker) pin(c *Conn) {
	if c.pinned {
		return
	}
	c.pinned = true
	if c.inList == &t.open {
		t.open.remove(c)
		t.pinned.pushFront(c)
	}
}

// sweep evicts idle and long-closed connections, forgets old offers and
// TIME-WAIT tuples, and lets the reassembler skip gaps it waited on.
func (t *Tracker) sweep() {
	t.lastSweep = t.now
	t.sweepAtNs = t.nowNs + int64(sweepEvery)
	for c := t.open.tail; c != nil && t.now.Sub(c.Last.Time) > t.cfg.IdleTimeout; c = t.open.tail {
		t.drop(makeKey(c.Client, c.Server), c)
	}
	for c := t.closed.tail; c != nil && t.now.Sub(c.Last.Time) > t.cfg.ClosedLinger; c = t.closed.tail {
		t.drop(makeKey(c.Client, c.Server), c)
	}
	for k, ct := range t.closedData {
		if t.now.Sub(ct.at) > t.cfg.TimeWait {
			delete(t.closedData, k)
		}
	}
	for ep, o := range t.offers {
		if t.now.Sub(o.Time) > offerTTL {
			delete(t.offers, ep)
		}
	}
	t.releaseHeld(t.now.Add(-gapWait))
	t.assembler.FlushWithOptions(reassembly.FlushOptions{T: t.now.Add(-gapWait), TC: t.now.Add(-controlIdle)})
	t.settleSessions(false)
}

// Finish flushes the reassembler and settles and retires every session
// still held. Without a Sink it returns all sessions; with one, the sink
// has had them and Result.Sessions is empty. The tracker must not be used
// afterwards.
func (t *Tracker) Finish() *Result {
	t.releaseHeld(time.Time{})
	t.assembler.FlushAll()
	t.settleSessions(true)
	slices.SortFunc(t.done, func(a, b *Session) int { return a.ID - b.ID })
	return &Result{Sessions: t.done, Stats: t.stats, First: t.first, Last: t.now}
}

func compareEvents(a, b Event) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	if a.Input != b.Input {
		return a.Input - b.Input
	}
	return a.Frame - b.Frame
}

// tooBig attaches an ICMP "fragmentation needed" to the connection whose
// segment it quotes.
func (t *Tracker) tooBig(ev Event, d *pcap.Decoded) {
	c := t.conns[makeKey(d.QuotedSrc, d.QuotedDst)]
	if c == nil || len(c.TooBig) >= maxTooBig {
		return
	}
	c.TooBig = append(c.TooBig, TooBig{From: c.Side(d.QuotedSrc), MTU: d.MTU, Router: d.Src, Event: ev})
}
