package ftpflow

import (
	"bytes"
	"net/netip"

	"ftpdiag/pcap"
)

// link tries to recognise a new connection as the data connection of an
// announced endpoint, or, failing that, as one between the hosts of an
// encrypted control session.
func (t *Tracker) link(c *Conn, src, dst netip.AddrPort, tcp *pcap.TCP) {
	if o := t.offerFor(c); o != nil {
		if !t.ambiguous(c, o.session) {
			t.attach(c, o)
		}
		return
	}
	if !c.Handshake && !(tcp.SYN && tcp.ACK) {
		// Caught mid-way: the roles are a guess, so try the other way too.
		if o := t.offers[c.Client]; o != nil && o.accepts(c.Client, c.Server.Addr()) {
			if !t.ambiguous(c, o.session) {
				c.Client, c.Server = c.Server, c.Client
				t.attach(c, o)
			}
			return
		}
	}
	if len(t.tlsHosts) > 0 {
		if s := t.tlsHosts[makeHostPair(src.Addr(), dst.Addr())]; s != nil && s.encryptedDataCandidate(c) && !t.ambiguous(c, s) {
			t.pairEncrypted(s, c)
			return
		}
	}
	if c.Handshake {
		if len(t.recent) >= maxRecentSYNs {
			t.recent[0].inRecent = false
			t.recent = t.recent[1:]
		}
		c.inRecent = true
		t.recent = append(t.recent, c)
	}
}

// offerFor returns the offer whose endpoint the connection's server side
// is, if the connection's client is a plausible user of it.
func (t *Tracker) offerFor(c *Conn) *Offer {
	o := t.offers[c.Server]
	if o == nil || !o.accepts(c.Server, c.Client.Addr()) {
		return nil
	}
	return o
}

// accepts reports whether a connection to server from a host at client
// can be the offer's data connection. A connection to exactly the announced
// endpoint always can (an FXP transfer involves a third host); one to the
// control address with the announced port must come from the right host:
// the FTP client's in passive mode, the FTP server's in active mode.
func (o *Offer) accepts(server netip.AddrPort, client netip.Addr) bool {
	s := o.session
	if server == s.Client || server == s.Server {
		return false // the control connection itself
	}
	if server == o.Endpoint {
		return true
	}
	if o.Passive() {
		return client == s.Client.Addr()
	}
	return client == s.Server.Addr()
}

// attach links a data connection to an offer.
func (t *Tracker) attach(c *Conn, o *Offer) {
	c.offer = o
	if len(o.Conns) < maxOfferConns {
		o.Conns = append(o.Conns, c)
		t.pin(c)
	}
	// Beyond the bound the connection is not the offer's to report, and
	// it leaves the table like any other.
}

// addOffer makes an announcement available for linking: under the
// announced endpoint and, since many clients ignore the announced address
// (and NAT rewrites it), under the control peer's address with the
// announced port. Connections opened shortly before the announcement was
// read (the reassembler may deliver it late) are linked at once.
func (t *Tracker) addOffer(o *Offer) {
	if s := o.session; len(s.Offers) > MaxOffersKept {
		// Beyond the bound the announcement is counted, not kept nor
		// linked, and no transfer takes it as the newest.
		s.Offers = s.Offers[:MaxOffersKept]
		s.Dropped.Offers++
		if st := s.Control.session; st != nil && st.current == o {
			st.current = nil
		}
		// The connections that answer it are not those of an older offer
		// of the same endpoint: they leave the table like any other
		// instead of piling up under a kept offer (a hostile session that
		// announces one port a million times would pin a connection per
		// announcement, and report them on the wrong transfers).
		for _, ep := range o.linkEndpoints() {
			if old, ok := t.offers[ep]; ok && old.session == s {
				delete(t.offers, ep)
			}
		}
		return
	}
	eps := o.linkEndpoints()
	alt := eps[1]
	for _, ep := range eps {
		if _, ok := t.offers[ep]; !ok && len(t.offers) >= maxOffersTracked {
			t.stats.DroppedOffers++
			continue
		}
		t.offers[ep] = o
	}
	for i := 0; i < len(t.recent); i++ {
		c := t.recent[i]
		if c.offer != nil || c.session != nil || o.Time.Sub(c.First.Time) > recentSYNWindow {
			continue
		}
		if c.Server == o.Endpoint || c.Server == alt {
			if o.accepts(c.Server, c.Client.Addr()) && !t.ambiguous(c, o.session) {
				t.attach(c, o)
				c.inRecent = false
				t.recent = append(t.recent[:i], t.recent[i+1:]...)
				i--
			}
		}
	}
}

// linkEndpoints returns the two endpoints a data connection for the offer
// may go to: the announced one, and the announced port at the address of
// the control connection's peer that listens (the server in passive mode,
// the client in active mode).
func (o *Offer) linkEndpoints() [2]netip.AddrPort {
	s := o.session
	alt := netip.AddrPortFrom(s.Server.Addr(), o.Endpoint.Port())
	if !o.Passive() {
		alt = netip.AddrPortFrom(s.Client.Addr(), o.Endpoint.Port())
	}
	return [2]netip.AddrPort{o.Endpoint, alt}
}

// encryptedDataCandidate reports whether c, a connection between the two
// hosts of s that matched no offer, may be one of its data connections:
// it began while the control channel was encrypted and open.
func (s *Session) encryptedDataCandidate(c *Conn) bool {
	if !s.ControlEncrypted() || c == s.Control {
		return false
	}
	if c.First.Time.Before(s.TLS.Accepted.Time) {
		return false
	}
	if s.TLS.ClearAgain.Seen() || s.controlEnded() && s.Control.Last.Time.Before(c.First.Time) {
		return false
	}
	return c.Server.Port() != s.Server.Port() || c.Server.Addr() != s.Server.Addr()
}

// controlPort is the standard FTP control port; implicitFTPSPort the port
// of FTP over TLS from the first byte (implicit FTPS, RFC 4217 section 1).
const (
	controlPort      = 21
	implicitFTPSPort = 990
)

// looksLikeClientHello reports whether b begins with a TLS handshake record
// holding a ClientHello.
func looksLikeClientHello(b []byte) bool {
	return len(b) >= 6 && b[0] == recHandshake && b[1] == 3 && b[5] == hsClientHello
}

// probe decides whether a connection is an FTP control connection: port
// 21, or, on any other port, a server whose first words are a 220 greeting
// (confirmed later by the client's first command).
func (t *Tracker) probe(c *Conn, side Side, tcp *pcap.TCP, payload int) {
	if c.Server.Port() == controlPort {
		if deferControl(c, payload) {
			return // half-open so far: no session slot (see HalfOpen)
		}
		c.probed = true
		t.startSession(c, "port")
		return
	}
	if payload == 0 {
		return
	}
	c.probed = true
	if c.Server.Port() == implicitFTPSPort && side == Client && looksLikeClientHello(tcp.Payload) {
		// Implicit FTPS: TLS from the first byte, no greeting to read.
		t.startSession(c, "port")
		return
	}
	if side == Server && looksLikeGreeting(tcp.Payload) {
		t.startSession(c, "content")
	}
}

// looksLikeGreeting reports whether b begins like an FTP 220 greeting.
func looksLikeGreeting(b []byte) bool {
	return len(b) >= 4 && bytes.HasPrefix(b, []byte("220")) && (b[3] == ' ' || b[3] == '-')
}

// startSession makes c an FTP control connection.
func (t *Tracker) startSession(c *Conn, by string) {
	if !t.roomForSession() {
		t.stats.DroppedSessions++
		t.untrack(c)
		return
	}
	st := newSession(t, c, by)
	if st.confirmed && c.Handshake {
		t.number(st.s) // caught mid-way, it is numbered at its first command or greeting
	}
	c.session = st
	t.pin(c)
	t.sessions = append(t.sessions, st)
}

// pairEncrypted pairs c with encrypted session s, within
// MaxEncryptedDataKept. Beyond it, a connection whose timing fits the
// control channel's rhythm takes the place of the latest one paired on
// hosts and time alone; the connection left out is counted and left like
// any other (evictable, not pinned).
func (t *Tracker) pairEncrypted(s *Session, c *Conn) {
	e := newEncryptedConn(s, c)
	if len(s.EncryptedData) >= MaxEncryptedDataKept {
		s.Dropped.EncryptedData++
		i := lastWithoutRhythm(s.EncryptedData)
		if !e.Rhythm || i < 0 {
			return
		}
		t.unpair(s.EncryptedData[i])
		s.EncryptedData = append(s.EncryptedData[:i], s.EncryptedData[i+1:]...)
	}
	c.enc = e
	s.EncryptedData = append(s.EncryptedData, c)
	t.pin(c)
}

// lastWithoutRhythm returns the index of the latest connection paired on
// hosts and time alone, -1 if every one fits the rhythm.
func lastWithoutRhythm(conns []*Conn) int {
	for i := len(conns) - 1; i >= 0; i-- {
		if e := conns[i].enc; e == nil || !e.Rhythm {
			return i
		}
	}
	return -1
}

// unpair makes a connection taken out of an encrypted session's pairs an
// ordinary one again: unpinned, evictable when idle.
func (t *Tracker) unpair(c *Conn) {
	c.enc = nil
	if !c.pinned {
		return
	}
	c.pinned = false
	if c.inList == &t.pinned {
		t.pinned.remove(c)
		t.open.pushFront(c)
	}
}

// tlsStarted registers an encrypted session for fallback pairing, and
// starts following its control connection's TLS rhythm.
func (t *Tracker) tlsStarted(s *Session) {
	t.tlsHosts[makeHostPair(s.Client.Addr(), s.Server.Addr())] = s
	if s.Control != nil && s.Control.rhythm == nil {
		s.Control.rhythm = &controlRhythm{}
	}
}
