package analyze

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"time"

	"ftpdiag/ftpflow"
)

// The rules about several sessions of one server (a full passive port
// range) read compact records of the settled sessions' passive offers, not
// the sessions themselves, so that a session can be let go once it retired.

// offerRecord is what the cross-session rules keep of one passive offer.
type offerRecord struct {
	// offer is the offer itself until its session retires, nil after.
	offer    *ftpflow.Offer
	session  int
	endpoint netip.AddrPort
	frame    int
	hold     portHold
	// ended is when the session ended (QUIT, FIN or RST), if it did;
	// firstClose the earliest end of a closed connection to the offer.
	ended, firstClose time.Time
	// idle is true when no connection and no transfer used the offer.
	idle bool
}

// over reports whether the offer no longer held its port at t: its
// session had ended, or a connection to it had closed.
func (r *offerRecord) over(t time.Time) bool {
	return !r.ended.IsZero() && r.ended.Before(t) || !r.firstClose.IsZero() && r.firstClose.Before(t)
}

// compareRecords orders records as the sessions and their offers are.
func compareRecords(a, b *offerRecord) int {
	return cmp.Or(a.session-b.session, a.hold.from.Compare(b.hold.from), a.frame-b.frame)
}

// portUse is what the range estimate keeps of every passive offer.
type portUse struct {
	hold    portHold
	port    uint16
	used    bool // a connection was made to it
	session int
}

// serverRecords is what is kept about one server address.
type serverRecords struct {
	// offers and refusals (times of replies saying the passive ports ran
	// out) are those a session not yet retired may still overlap.
	offers   []*offerRecord
	refusals []time.Time
	uses     []portUse
	// firstSession is the lowest ID of a session with a passive offer
	// (math.MaxInt while there is none), whatever order sessions settle in.
	firstSession int
}

// record keeps what the cross-session rules need of a settled session.
func (d *diag) record(s *ftpflow.Session) {
	server := s.Server.Addr()
	sr := d.servers[server]
	ended := time.Time{}
	if e := s.Ended(); e.Seen() {
		ended = e.Time
	}
	for _, o := range s.Offers {
		if !o.Passive() {
			continue
		}
		if sr == nil {
			sr = &serverRecords{firstSession: math.MaxInt}
			d.servers[server] = sr
		}
		rec := &offerRecord{offer: o, session: s.ID, endpoint: o.Endpoint, frame: o.Frame,
			hold: offerHold(s, o), ended: ended, idle: len(o.Conns) == 0 && len(o.Transfers) == 0}
		for _, c := range o.Conns {
			if c.Closed() && (rec.firstClose.IsZero() || c.Last.Time.Before(rec.firstClose)) {
				rec.firstClose = c.Last.Time
			}
		}
		sr.offers = append(sr.offers, rec)
		sr.uses = append(sr.uses, portUse{hold: rec.hold, port: o.Endpoint.Port(), used: len(o.Conns) > 0, session: s.ID})
		sr.firstSession = min(sr.firstSession, s.ID)
	}
	for _, r := range s.Refusals {
		if !exhaustionText(r.Reply.Text) {
			continue
		}
		if sr == nil {
			sr = &serverRecords{firstSession: math.MaxInt}
			d.servers[server] = sr
		}
		sr.refusals = append(sr.refusals, r.Reply.Time)
	}
}

// forget drops the records' references to a retired session.
func (d *diag) forget(s *ftpflow.Session) {
	if sr := d.servers[s.Server.Addr()]; sr != nil {
		for _, rec := range sr.offers {
			if rec.session == s.ID {
				rec.offer = nil
			}
		}
	}
}

// markHeldOffers marks the idle passive offers of s that held a port of
// the server when its range ran out: at a refusal saying so, or when it
// announced a port outside its range. Those announcements are part of that
// story, not failures of their own.
func (d *diag) markHeldOffers(s *ftpflow.Session) {
	sr := d.servers[s.Server.Addr()]
	if sr == nil {
		return
	}
	for _, x := range sr.offers {
		if x.session != s.ID || !x.idle {
			continue
		}
		for _, at := range sr.refusals {
			if x.hold.from.Before(at) && !x.over(at) {
				d.offerExplained[x.offer] = true
			}
		}
		for _, h := range sr.offers {
			if h == x || !x.hold.from.Before(h.hold.from) || !x.hold.to.After(h.hold.from) {
				continue
			}
			if _, _, _, ok := sr.outOfRange(h); ok {
				d.offerExplained[x.offer] = true
			}
		}
	}
}

// outOfRange reports whether the passive offer h announced a port far from
// those the server was holding at that moment (at least two, in a small
// cluster lo-hi), and lists those offers.
func (sr *serverRecords) outOfRange(h *offerRecord) (busy []*offerRecord, lo, hi int, ok bool) {
	lo, hi = 65535, 0
	at := h.hold.from
	for _, x := range sr.offers {
		if x == h || !x.hold.from.Before(at) || !x.hold.to.After(at) {
			continue
		}
		busy = append(busy, x)
		lo, hi = min(lo, int(x.endpoint.Port())), max(hi, int(x.endpoint.Port()))
	}
	p := int(h.endpoint.Port())
	if len(busy) < 2 || hi-lo >= outsideRange || (p > lo-outsideRange && p < hi+outsideRange) {
		return nil, 0, 0, false
	}
	slices.SortFunc(busy, compareRecords)
	return busy, lo, hi, true
}

// prune drops the records that no session still held by the tracker can
// concern: those over before the earliest passive announcement or refusal
// of such a session to the same server (and before now, less a margin for
// replies the reassembler delivers late).
func (d *diag) prune(now time.Time) {
	d.settledSince = 0
	margin := ftpflow.DefaultSettleAfter
	if d.opt.Tracker.SettleAfter > margin {
		margin = d.opt.Tracker.SettleAfter
	}
	for server, sr := range d.servers {
		horizon := now.Add(-margin)
		if since, ok := d.tracker.PassiveSince(server); ok && since.Before(horizon) {
			horizon = since
		}
		offers := sr.offers[:0]
		for _, rec := range sr.offers {
			if !rec.hold.to.Before(horizon) || !rec.over(horizon) || rec.offer != nil {
				offers = append(offers, rec)
			}
		}
		clear(sr.offers[len(offers):])
		sr.offers = offers
		refusals := sr.refusals[:0]
		for _, at := range sr.refusals {
			if !at.Before(horizon) {
				refusals = append(refusals, at)
			}
		}
		sr.refusals = refusals
	}
}
