package analyze

import (
	"cmp"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"sort"
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
	// out) are those a session not yet retired may still overlap. offers
	// are sorted by the start of their hold, and filed again by the
	// length of their hold in byLength (sorted the same way): the offers
	// held at a moment are those of each length class that started less
	// than the class's longest hold before it, found by binary searches,
	// not by a scan of every offer.
	offers   []*offerRecord
	byLength [holdClasses][]*offerRecord
	refusals []time.Time
	uses     []portUse
	// bySession holds the offers of each session not yet retired.
	bySession map[int][]*offerRecord
	// firstSession is the lowest ID of a session with a passive offer
	// (math.MaxInt while there is none), whatever order sessions settle in.
	firstSession int
}

// holdClasses is the number of hold length classes: class k holds the
// holds shorter than 2^k microseconds (and not shorter than 2^(k-1)).
const holdClasses = 64

// holdClass returns the length class of a hold.
func holdClass(h portHold) int {
	return bits.Len64(uint64(max(h.to.Sub(h.from), 0) / time.Microsecond))
}

// classLongest is the longest hold of class k.
func classLongest(k int) time.Duration {
	if k >= 40 { // over 12 days: every hold of a capture
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(1<<k) * time.Microsecond
}

// insertByStart files rec into recs, sorted by the start of their holds.
func insertByStart(recs []*offerRecord, rec *offerRecord) []*offerRecord {
	i := sort.Search(len(recs), func(i int) bool { return rec.hold.from.Before(recs[i].hold.from) })
	return slices.Insert(recs, i, rec)
}

// startingIn returns the records of recs (sorted by the start of their
// holds) whose hold starts after from and before to.
func startingIn(recs []*offerRecord, from, to time.Time) []*offerRecord {
	lo := sort.Search(len(recs), func(i int) bool { return recs[i].hold.from.After(from) })
	hi := sort.Search(len(recs), func(i int) bool { return !recs[i].hold.from.Before(to) })
	if hi < lo {
		return nil
	}
	return recs[lo:hi]
}

func newServerRecords() *serverRecords {
	return &serverRecords{firstSession: math.MaxInt, bySession: map[int][]*offerRecord{}}
}

// add files a record in the index.
func (sr *serverRecords) add(rec *offerRecord) {
	sr.offers = insertByStart(sr.offers, rec)
	k := holdClass(rec.hold)
	sr.byLength[k] = insertByStart(sr.byLength[k], rec)
	sr.bySession[rec.session] = append(sr.bySession[rec.session], rec)
}

// heldAt calls f with every offer holding its port at t (its hold started
// before t and ends after it), except skip.
func (sr *serverRecords) heldAt(t time.Time, skip *offerRecord, f func(*offerRecord)) {
	for k, recs := range sr.byLength {
		if len(recs) == 0 {
			continue
		}
		since := time.Time{}
		if longest := classLongest(k); longest < time.Duration(math.MaxInt64) {
			since = t.Add(-longest - time.Nanosecond)
		}
		for _, x := range startingIn(recs, since, t) {
			if x != skip && x.hold.to.After(t) {
				f(x)
			}
		}
	}
}

// sessionOffers returns the passive offers a session not yet retired made
// to this server.
func (sr *serverRecords) sessionOffers(id int) []*offerRecord { return sr.bySession[id] }

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
			sr = newServerRecords()
			d.servers[server] = sr
		}
		rec := &offerRecord{offer: o, session: s.ID, endpoint: o.Endpoint, frame: o.Frame,
			hold: offerHold(s, o), ended: ended, idle: len(o.Conns) == 0 && len(o.Transfers) == 0}
		for _, c := range o.Conns {
			if c.Closed() && (rec.firstClose.IsZero() || c.Last.Time.Before(rec.firstClose)) {
				rec.firstClose = c.Last.Time
			}
		}
		sr.add(rec)
		sr.uses = append(sr.uses, portUse{hold: rec.hold, port: o.Endpoint.Port(), used: len(o.Conns) > 0, session: s.ID})
		sr.firstSession = min(sr.firstSession, s.ID)
	}
	for _, r := range s.Refusals {
		if !exhaustionText(r.Reply.Text) {
			continue
		}
		if sr == nil {
			sr = newServerRecords()
			d.servers[server] = sr
		}
		sr.refusals = append(sr.refusals, r.Reply.Time)
	}
}

// forget drops the records' references to a retired session.
func (d *diag) forget(s *ftpflow.Session) {
	if sr := d.servers[s.Server.Addr()]; sr != nil {
		for _, rec := range sr.sessionOffers(s.ID) {
			rec.offer = nil
		}
		delete(sr.bySession, s.ID)
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
	for _, x := range sr.sessionOffers(s.ID) {
		if !x.idle {
			continue
		}
		for _, at := range sr.refusals {
			if x.hold.from.Before(at) && !x.over(at) {
				d.offerExplained[x.offer] = true
			}
		}
		for _, h := range startingIn(sr.offers, x.hold.from, x.hold.to) {
			if h == x || d.offerExplained[x.offer] {
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
	sr.heldAt(h.hold.from, h, func(x *offerRecord) {
		busy = append(busy, x)
		lo, hi = min(lo, int(x.endpoint.Port())), max(hi, int(x.endpoint.Port()))
	})
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
		kept := func(rec *offerRecord) bool {
			return !rec.hold.to.Before(horizon) || !rec.over(horizon) || rec.offer != nil
		}
		sr.offers = keepRecords(sr.offers, kept)
		for k := range sr.byLength {
			sr.byLength[k] = keepRecords(sr.byLength[k], kept)
		}
		refusals := sr.refusals[:0]
		for _, at := range sr.refusals {
			if !at.Before(horizon) {
				refusals = append(refusals, at)
			}
		}
		sr.refusals = refusals
	}
}

// keepRecords keeps the records kept says to, in order, and clears the
// rest of the slice so that the dropped ones can be collected.
func keepRecords(recs []*offerRecord, kept func(*offerRecord) bool) []*offerRecord {
	out := recs[:0]
	for _, rec := range recs {
		if kept(rec) {
			out = append(out, rec)
		}
	}
	clear(recs[len(out):])
	return out
}
