package ftpflow

import (
	"net/netip"
	"slices"
	"time"
)

// A session's life in the tracker: it is held while its control
// connection is open; once that connection has closed and the session has
// been quiet for long enough (see over), it settles (its
// transfers are judged and the tracker stops linking connections to it);
// it retires when no session to the same server that was already dealing
// in passive ports before it ended is still open, and the tracker lets go
// of it.

// number gives a session its ID, in the order sessions were recognised as
// FTP (a control connection on port 21 at its first packet, one on another
// port when the client's first command confirmed it).
func (t *Tracker) number(s *Session) {
	if s.ID == 0 {
		t.nextSessionID++
		s.ID = t.nextSessionID
	}
}

// settleSessions settles the sessions that are over (all of them when
// final), then retires those that no open session can still concern.
func (t *Tracker) settleSessions(final bool) {
	held := t.sessions[:0]
	for _, st := range t.sessions {
		switch {
		case st.dropped:
			// Taken for FTP by a greeting, but the client spoke otherwise.
			t.forgetHeld(st)
		case (final || st.s.over(t.now, t.cfg)) && st.strayTail():
			// The end of a connection that began before the capture,
			// carrying nothing that makes it a session.
			t.forgetHeld(st)
		case final || st.s.over(t.now, t.cfg):
			t.settle(st)
		default:
			held = append(held, st)
		}
	}
	clear(t.sessions[len(held):])
	t.sessions = held
	if len(t.settled) > 0 {
		t.retireSessions()
	}
}

// retireSessions retires, in the order of their IDs, the settled sessions
// that ended before every open session to the same server first announced
// a passive port or was refused one: what the rules compare across
// sessions is passive ports held and refused at the same moment, and what
// an open session does from now on cannot concern a session that ended.
func (t *Tracker) retireSessions() {
	openSince := make(map[netip.Addr]time.Time, len(t.sessions))
	for _, st := range t.sessions {
		if st.passiveSince.IsZero() {
			continue
		}
		a := st.s.Server.Addr()
		if since, ok := openSince[a]; !ok || st.passiveSince.Before(since) {
			openSince[a] = st.passiveSince
		}
	}
	byID := func(a, b *sessionState) int { return a.s.ID - b.s.ID }
	if !slices.IsSortedFunc(t.settled, byID) {
		slices.SortFunc(t.settled, byID)
	}
	waiting := t.settled[:0]
	for _, st := range t.settled {
		if since, ok := openSince[st.s.Server.Addr()]; ok && !st.activeUntil.Before(since) {
			waiting = append(waiting, st)
			continue
		}
		if t.cfg.Sink != nil {
			t.cfg.Sink.Retired(st.s)
		} else {
			t.done = append(t.done, st.s)
		}
	}
	clear(t.settled[len(waiting):])
	t.settled = waiting
}

// strayTail reports whether a session is only the tail of a control
// connection that began before the capture: no SYN, no command from the
// client, no greeting and no encrypted channel. A reply such a tail
// carries (a 425 of some other dialogue) says nothing of a session.
func (st *sessionState) strayTail() bool {
	s := st.s
	// s.TLS, not the line state: a closed connection's lines are
	// released before its session is settled.
	return s.ID == 0 && !s.Control.Handshake && s.Commands == 0 && s.Greeting == nil && s.TLS == nil
}

// over reports whether a session has ended: its control connection closed
// (both FINs or a RST) and had no packet for cfg.SettleAfter, longer than
// the reassembler waits on a hole, so all its bytes have been delivered;
// and each of its data connections is over too: closed and as quiet, or,
// still open, silent for longer than TCP keeps retrying (see nextSYNDue for
// one that only sent SYNs, cfg.IdleTimeout for one that was established).
func (s *Session) over(now time.Time, cfg Config) bool {
	if !s.Control.Closed() || now.Sub(s.Control.Last.Time) <= cfg.SettleAfter {
		return false
	}
	over := true
	s.eachDataConn(func(c *Conn) {
		quiet := cfg.SettleAfter
		switch {
		case c.Closed():
		case c.Handshake && !c.SYNACK.Seen():
			quiet = max(quiet, nextSYNDue(c))
		default:
			quiet = max(quiet, cfg.IdleTimeout)
		}
		if now.Sub(c.Last.Time) <= quiet {
			over = false
		}
	})
	return over
}

// nextSYNDue is how long after its last SYN a connection that only sent
// SYNs would have sent another: TCP doubles the wait at each retry (Linux:
// 1, 2, 4, 8, 16, 32 s), so twice the last interval and a second, at most
// synRetryQuiet; after that the sender has given up.
func nextSYNDue(c *Conn) time.Duration {
	due := time.Second
	if n := len(c.SYNs); n >= 2 {
		due += 2 * c.SYNs[n-1].Time.Sub(c.SYNs[n-2].Time)
	} else {
		due += 3 * time.Second // the first retry: 1 s on Linux, 3 s on older stacks
	}
	return min(due, synRetryQuiet)
}

// lastActivity is the time of the last packet of the session's control
// connection and of the data connections linked to it.
func (s *Session) lastActivity() time.Time {
	last := s.Control.Last.Time
	s.eachDataConn(func(c *Conn) {
		if c.Last.Time.After(last) {
			last = c.Last.Time
		}
	})
	return last
}

// eachDataConn calls fn for each of the session's data connections.
func (s *Session) eachDataConn(fn func(c *Conn)) {
	for _, o := range s.Offers {
		for _, c := range o.Conns {
			fn(c)
		}
	}
	for _, c := range s.EncryptedData {
		fn(c)
	}
}

// settle judges a session's transfers, makes the tracker forget its offers
// and connections, and hands it to the sink.
func (t *Tracker) settle(st *sessionState) {
	s := st.s
	t.number(s)
	if st.stream != nil {
		// A connection closed by a RST may stay with the reassembler
		// until it times out: it must not hold on to the session.
		st.stream.st = nil
		st.stream = nil
	}
	st.settled = true
	t.forgetHeld(st)
	st.release()
	s.finish(t.now)
	st.activeUntil = s.lastActivity()
	t.bounds.noteDropped(s)
	for _, o := range s.Offers {
		for _, ep := range o.linkEndpoints() {
			if t.offers[ep] == o {
				delete(t.offers, ep)
			}
		}
	}
	if hp := makeHostPair(s.Client.Addr(), s.Server.Addr()); t.tlsHosts[hp] == s {
		delete(t.tlsHosts, hp)
	}
	forget := func(c *Conn) {
		k := makeKey(c.Client, c.Server)
		// A connection taken for an encrypted data connection of s may
		// have turned out to be another session's control connection.
		if t.conns[k] == c && (c.session == nil || c.session == st) {
			t.drop(k, c)
		}
	}
	s.eachDataConn(forget)
	forget(s.Control)
	if t.cfg.Sink != nil {
		t.cfg.Sink.Settled(s)
	}
	t.settled = append(t.settled, st)
}

// PassiveSince returns the time of the earliest passive announcement or
// refused passive request among the sessions to server that the tracker
// has not retired yet, and false when none of them made one. Conclusions
// about those sessions can only involve what other sessions did with
// passive ports from then on.
func (t *Tracker) PassiveSince(server netip.Addr) (time.Time, bool) {
	var since time.Time
	found := false
	for _, list := range [][]*sessionState{t.sessions, t.settled} {
		for _, st := range list {
			if st.s.Server.Addr() == server && !st.passiveSince.IsZero() && (!found || st.passiveSince.Before(since)) {
				since, found = st.passiveSince, true
			}
		}
	}
	return since, found
}
