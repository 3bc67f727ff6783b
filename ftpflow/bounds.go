package ftpflow

import (
	"maps"
	"net/netip"
	"slices"
)

// Per-session bounds: what one session keeps, whatever its dialogue holds.
// Beyond them the session counts what it did not keep (Session.Dropped).
const (
	// MaxTransfersKept bounds the transfers a session keeps.
	MaxTransfersKept = 10000
	// MaxOffersKept bounds the endpoint announcements a session keeps (and
	// links data connections to).
	MaxOffersKept = 10000
	// MaxEncryptedDataKept bounds the connections paired with an encrypted
	// session by hosts and timing.
	MaxEncryptedDataKept = 256
	// maxBoundSessions bounds the session IDs a Bounds report lists.
	maxBoundSessions = 20
	// maxHalfOpenServers bounds the servers a HalfOpen report lists.
	maxHalfOpenServers = 8
)

// Dropped counts what a session's bounds kept out of it.
type Dropped struct {
	// Transfers and Offers count transfer commands and endpoint
	// announcements beyond MaxTransfersKept and MaxOffersKept: not
	// analysed.
	Transfers, Offers int
	// EncryptedData counts connections that fitted the encrypted session
	// beyond MaxEncryptedDataKept: not paired.
	EncryptedData int
	// Unlinked counts connections that may have been this session's data
	// connections but were not linked to it, because a session the tracker
	// did not follow (MaxSessions) joins the same two hosts and may own
	// them.
	Unlinked int
}

// Any reports whether a bound dropped something.
func (d Dropped) Any() bool { return d != Dropped{} }

// Bounds says what the tracker's bounds left out of the analysis, for a
// report to say how partial its conclusions are.
type Bounds struct {
	// MaxSessions is the session bound in force.
	MaxSessions int
	// DroppedSessions counts sessions not followed because MaxSessions
	// sessions were held at once (Stats.DroppedSessions).
	DroppedSessions int
	// Dropped sums the sessions' Dropped counts; Sessions lists the IDs of
	// the sessions concerned (at most maxBoundSessions), MoreSessions
	// counts the rest.
	Dropped      Dropped
	Sessions     []int
	MoreSessions int
	// HalfOpen describes the connections to the FTP control port that
	// never became sessions.
	HalfOpen HalfOpen
}

// HalfOpen describes connections to port 21 that never completed a
// handshake nor carried a byte: a SYN flood, or a server that does not
// answer. They hold no session slot.
type HalfOpen struct {
	// Count counts them: Unanswered (SYNs only), Refused (a RST from the
	// server) and NotAcked (a SYN-ACK the client never acknowledged).
	Count                         int
	Unanswered, Refused, NotAcked int
	// First and Last are the first SYNs of the earliest and latest.
	First, Last Event
	// Servers lists the servers attempted, most attempted first (at most
	// maxHalfOpenServers); OtherServers counts the attempts at the rest.
	Servers      []EndpointCount
	OtherServers int
	// Clients counts the distinct client addresses, up to maxHalfOpenClients
	// (ClientsCapped set beyond).
	Clients       int
	ClientsCapped bool
}

// EndpointCount is an endpoint with a count.
type EndpointCount struct {
	Endpoint netip.AddrPort
	Count    int
}

// maxHalfOpenClients bounds the client addresses counted distinctly.
const maxHalfOpenClients = 4096

// boundsState is the tracker's record of what its bounds did.
type boundsState struct {
	// untracked maps the live control connections of sessions dropped at
	// MaxSessions to their hosts; untrackedHosts counts them per host
	// pair. Both shrink as those connections leave the table, so they are
	// bounded by MaxConns.
	untracked      map[connKey]hostPair
	untrackedHosts map[hostPair]int
	// settleTriedNs is when startSession last settled sessions to make
	// room (capture time, Unix ns).
	settleTriedNs int64
	// heldBytes is what the control connections' reorder buffers hold
	// (hold.go), against maxHeldBytesTotal.
	heldBytes    int
	dropped      Dropped
	sessions     []int
	moreSessions int
	halfOpen     HalfOpen
	servers      map[netip.AddrPort]int
	clients      map[netip.Addr]struct{}
}

// settleRetry is how often, in capture time, a full session table may
// settle the sessions that are over to make room before the next sweep.
const settleRetry = sweepEvery / 8

// roomForSession reports whether a new session fits under MaxSessions.
// Sessions that are over but not yet swept are settled first (at most
// every settleRetry), so that a session that ended a moment ago does not
// keep out the next one.
func (t *Tracker) roomForSession() bool {
	held := func() int { return len(t.sessions) + len(t.settled) + len(t.done) }
	if held() < t.cfg.MaxSessions {
		return true
	}
	if b := &t.bounds; t.nowNs >= b.settleTriedNs {
		b.settleTriedNs = t.nowNs + int64(settleRetry)
		t.settleSessions(false)
	}
	return held() < t.cfg.MaxSessions
}

// untrack records the control connection of a session dropped at
// MaxSessions: data connections between its hosts may be its own, so they
// are linked to no other session while it lives.
func (t *Tracker) untrack(c *Conn) {
	b := &t.bounds
	if b.untracked == nil {
		b.untracked = make(map[connKey]hostPair)
		b.untrackedHosts = make(map[hostPair]int)
	}
	k := makeKey(c.Client, c.Server)
	if _, ok := b.untracked[k]; ok {
		return
	}
	hp := makeHostPair(c.Client.Addr(), c.Server.Addr())
	b.untracked[k] = hp
	b.untrackedHosts[hp]++
}

// leftTable is called as connection c, under key k, leaves the table: it
// forgets an untracked control connection and counts a half-open control
// connection.
func (t *Tracker) leftTable(k connKey, c *Conn) {
	b := &t.bounds
	if hp, ok := b.untracked[k]; ok {
		delete(b.untracked, k)
		if b.untrackedHosts[hp]--; b.untrackedHosts[hp] <= 0 {
			delete(b.untrackedHosts, hp)
		}
	}
	if halfOpenControl(c) {
		b.countHalfOpen(c)
	}
}

// ambiguous reports whether connection c joins the hosts of a session the
// tracker does not follow: it may be that session's data connection, so it
// is linked to none. s, when not nil, is the session it would have gone
// to, whose Dropped.Unlinked counts it.
func (t *Tracker) ambiguous(c *Conn, s *Session) bool {
	b := &t.bounds
	if len(b.untrackedHosts) == 0 || b.untrackedHosts[makeHostPair(c.Client.Addr(), c.Server.Addr())] == 0 {
		return false
	}
	if s != nil {
		s.Dropped.Unlinked++
	}
	return true
}

// deferControl reports whether a connection to the control port should
// wait before it becomes a session: until its handshake completes or it
// carries a byte, it may be one of a SYN flood's half-open connections,
// which must not take session slots.
func deferControl(c *Conn, payload int) bool {
	return payload == 0 && !c.HandshakeACK.Seen()
}

// halfOpenControl reports whether c is a connection to the control port
// that never became a session: its SYN was never followed by a completed
// handshake or a byte.
func halfOpenControl(c *Conn) bool {
	return c.session == nil && !c.probed && c.Handshake && c.Server.Port() == controlPort && c.offer == nil
}

// countHalfOpen adds a half-open control connection to the record.
func (b *boundsState) countHalfOpen(c *Conn) {
	h := &b.halfOpen
	h.Count++
	switch {
	case c.Reset != nil && c.Reset.From == Server:
		h.Refused++
	case c.SYNACK.Seen():
		h.NotAcked++
	default:
		h.Unanswered++
	}
	if !h.First.Seen() || compareEvents(c.First, h.First) < 0 {
		h.First = c.First
	}
	if !h.Last.Seen() || compareEvents(c.First, h.Last) > 0 {
		h.Last = c.First
	}
	if b.servers == nil {
		b.servers = make(map[netip.AddrPort]int)
		b.clients = make(map[netip.Addr]struct{})
	}
	if _, ok := b.servers[c.Server]; ok || len(b.servers) < maxHalfOpenServers {
		b.servers[c.Server]++
	} else {
		h.OtherServers++
	}
	if _, ok := b.clients[c.Client.Addr()]; !ok {
		if len(b.clients) < maxHalfOpenClients {
			b.clients[c.Client.Addr()] = struct{}{}
		} else {
			h.ClientsCapped = true
		}
	}
}

// noteDropped adds a settled session's Dropped counts to the record.
func (b *boundsState) noteDropped(s *Session) {
	d := s.Dropped
	if !d.Any() {
		return
	}
	b.dropped.Transfers += d.Transfers
	b.dropped.Offers += d.Offers
	b.dropped.EncryptedData += d.EncryptedData
	b.dropped.Unlinked += d.Unlinked
	if len(b.sessions) < maxBoundSessions {
		b.sessions = append(b.sessions, s.ID)
	} else {
		b.moreSessions++
	}
}

// Bounds reports what the tracker's bounds left out. Call it after Finish:
// connections still in the table then count too.
func (t *Tracker) Bounds() Bounds {
	b := t.bounds
	b.servers = maps.Clone(b.servers)
	b.clients = maps.Clone(b.clients)
	for _, c := range t.conns {
		if halfOpenControl(c) {
			b.countHalfOpen(c)
		}
	}
	h := b.halfOpen
	h.Clients = len(b.clients)
	for ep, n := range b.servers {
		h.Servers = append(h.Servers, EndpointCount{ep, n})
	}
	slices.SortFunc(h.Servers, func(x, y EndpointCount) int {
		if x.Count != y.Count {
			return y.Count - x.Count
		}
		return x.Endpoint.Compare(y.Endpoint)
	})
	sessions := slices.Clone(b.sessions)
	slices.Sort(sessions)
	return Bounds{
		MaxSessions:     t.cfg.MaxSessions,
		DroppedSessions: t.stats.DroppedSessions,
		Dropped:         b.dropped,
		Sessions:        sessions,
		MoreSessions:    b.moreSessions,
		HalfOpen:        h,
	}
}
