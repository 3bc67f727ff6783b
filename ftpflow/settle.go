package ftpflow

import (
	"net/netip"
	"slices"
	"time"
)

// A session's life in the tracker: it is held while its control
// connection is open; once that connection has closed and the session has
// been quiet for SettleAfter, it settles (its
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
	for _, s := range t.sessions {
		switch {
		case s.dropped:
			// Taken for FTP by a greeting, but the client spoke otherwise.
		case final || s.over(t.now, t.cfg.SettleAfter):
			t.settle(s)
		default:
			held = append(held, s)
		}
	}
	clear(t.sessions[len(held):])
	t.sessions = held
	if len(t.settled) == 0 {
		return
	}
	// A settled session retires once it ended before every open session
	// to the same server first announced a passive port or was refused
	// one: what the rules compare across sessions is passive ports held
	// and refused at the same moment, and what an open session does from
	// now on cannot concern a session that ended.
	openSince := make(map[netip.Addr]time.Time, len(t.sessions))
	for _, s := range t.sessions {
		if s.passiveSince.IsZero() {
			continue
		}
		a := s.Server.Addr()
		if since, ok := openSince[a]; !ok || s.passiveSince.Before(since) {
			openSince[a] = s.passiveSince
		}
	}
	slices.SortFunc(t.settled, func(a, b *Session) int { return a.ID - b.ID })
	waiting := t.settled[:0]
	for _, s := range t.settled {
		if since, ok := openSince[s.Server.Addr()]; ok && !s.activeUntil.Before(since) {
			waiting = append(waiting, s)
			continue
		}
		if t.cfg.Sink != nil {
			t.cfg.Sink.Retired(s)
		} else {
			t.done = append(t.done, s)
		}
	}
	clear(t.settled[len(waiting):])
	t.settled = waiting
}

// over reports whether a session has ended: its control connection closed
// (both FINs or a RST), and neither it nor its data connections had a
// packet for quiet, longer than the reassembler waits on a hole, so that
// all its control bytes have been delivered.
func (s *Session) over(now time.Time, quiet time.Duration) bool {
	return s.Control.Closed() && now.Sub(s.lastActivity()) > quiet
}

// lastActivity is the time of the last packet of the session's control
// connection and of the data connections linked to it.
func (s *Session) lastActivity() time.Time {
	last := s.Control.Last.Time
	for _, c := range s.conns() {
		if c.Last.Time.After(last) {
			last = c.Last.Time
		}
	}
	return last
}

// conns lists the session's data connections.
func (s *Session) conns() []*Conn {
	var out []*Conn
	for _, o := range s.Offers {
		out = append(out, o.Conns...)
	}
	return append(out, s.EncryptedData...)
}

// settle judges a session's transfers, makes the tracker forget its offers
// and connections, and hands it to the sink.
func (t *Tracker) settle(s *Session) {
	t.number(s)
	if s.stream != nil {
		// A connection closed by a RST may stay with the reassembler
		// until it times out: it must not hold on to the session.
		s.stream.s = nil
		s.stream = nil
	}
	s.settled = true
	s.release()
	s.finish(t.now)
	s.activeUntil = s.lastActivity()
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
	for _, c := range append(s.conns(), s.Control) {
		k := makeKey(c.Client, c.Server)
		if t.conns[k] == c {
			t.drop(k, c)
		}
	}
	if t.cfg.Sink != nil {
		t.cfg.Sink.Settled(s)
	}
	t.settled = append(t.settled, s)
}

// HeldSince returns when the earliest session to server that the tracker
// has not retired yet began (the first packet of its control connection),
// and false when it holds none.
func (t *Tracker) HeldSince(server netip.Addr) (time.Time, bool) {
	var since time.Time
	found := false
	for _, list := range [][]*Session{t.sessions, t.settled} {
		for _, s := range list {
			if s.Server.Addr() == server && (!found || s.Control.First.Time.Before(since)) {
				since, found = s.Control.First.Time, true
			}
		}
	}
	return since, found
}
