package analyze

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"ftpdiag/ftpflow"
)

// timeWait reports a data connection that reused the exact 5-tuple of one
// closed less than TIME-WAIT earlier.
func (d *diag) timeWait(s *ftpflow.Session, t *ftpflow.Transfer, c *ftpflow.Conn) {
	p := c.Previous
	if p.Reset || !p.Closed.Seen() || len(c.SYNs) == 0 {
		return // a RST leaves no TIME-WAIT behind
	}
	gap := c.SYNs[0].Time.Sub(p.Closed.Time)
	if gap < 0 || gap >= d.opt.TimeWait {
		return
	}
	// The side that sent the first FIN closed actively and holds TIME-WAIT.
	holder := p.Client
	if p.FirstFIN == ftpflow.Server {
		holder = otherEnd(p, c)
	}
	holderIsConnector := holder == c.Client
	// Map the previous connection's sides to the new connector.
	connectorSide := ftpflow.Client
	if p.Client != c.Client {
		connectorSide = ftpflow.Server
	}
	isnAfter := seqAfter(c.ISN, p.LastSeq[connectorSide])
	tsNewer := c.HasTS && p.HasTS[connectorSide] && seqAfter(c.TSval, p.LastTSval[connectorSide])
	fail := failed(t) || !c.Established()
	ev := newEvidence(map[string]any{
		"previous_connection": p.ConnID, "previous_closed": stamp(p.Closed.Time),
		"seconds_since_close": gap.Seconds(), "time_wait_seconds": d.opt.TimeWait.Seconds(),
		"time_wait_holder": holder.String(), "isn_above_previous_sequence": isnAfter,
		"timestamp_newer": tsNewer, "established": c.Established(),
	})
	ev.tuple(c.Client, c.Server)
	ev.frame("previous_closed_frame", p.Closed.Frame)
	ev.frame("syn_frame", c.SYNs[0].Frame)
	ev.transfer(t)
	finalReply(ev, t)
	who := "the side being connected to"
	if holderIsConnector {
		who = "the connecting side itself"
	}
	expl := fmt.Sprintf("A TCP connection is named by its 5-tuple (protocol, both addresses, both ports). The side that closes first keeps the tuple in TIME-WAIT for 2*MSL (%s here; 240 s on older Windows, 60 s on Linux) so that stray old segments cannot corrupt a new connection. "+
		"This data connection reused the exact tuple of connection %d only %s after it closed, while %s (%s) still held it in TIME-WAIT. ",
		d.opt.TimeWait, p.ConnID, short(gap), who, holder)
	expl += reuseAcceptance(holderIsConnector, isnAfter, tsNewer)
	if fail {
		expl += "The connection failed, and the server reported the failure on the control channel."
	} else {
		expl += "This time it worked; a stack that does not apply these rules (or with TCP timestamps disabled) would have refused it, the classic cause of intermittent \"425 Can't open data connection\"."
	}
	rem := "Do not bind the data connection to a fixed port: let the client pick an ephemeral port for each PORT (and avoid connect_from_port_20 pairing with a fixed client port), or use passive mode; keep TCP timestamps enabled; on the server, SO_REUSEADDR does not lift TIME-WAIT for an identical tuple."
	sev := Warning
	if fail {
		sev = Error
	}
	id := d.add(Finding{Kind: KindTimeWaitReuse, Severity: sev, Session: s.ID, Transfer: t.ID,
		Summary:     fmt.Sprintf("data connection reuses the 5-tuple of connection %d closed %s earlier (TIME-WAIT %s)", p.ConnID, short(gap), d.opt.TimeWait),
		Explanation: expl, Remediation: rem}, ev)
	if fail {
		d.explain(id, t)
	}
}

// reuseAcceptance says whether the side holding a 5-tuple in TIME-WAIT
// lets a new connection reuse it: the connector refuses to, the side
// connected to may, by RFC 1122's sequence number rule or RFC 6191's
// timestamp rule.
func reuseAcceptance(holderIsConnector, isnAfter, tsNewer bool) string {
	if holderIsConnector {
		return "A stack holding the tuple in TIME-WAIT usually refuses to connect from it again (EADDRINUSE); here it sent the SYN anyway. "
	}
	rules := "RFC 1122 (4.2.2.13) lets the TIME-WAIT side accept a new SYN whose initial sequence number is above the last one it saw, and RFC 6191 lets it accept one whose TCP timestamp is newer; "
	switch {
	case isnAfter && tsNewer:
		return rules + "both hold here, so a modern stack accepts the reuse. "
	case isnAfter:
		return rules + "the sequence number rule holds here. "
	case tsNewer:
		return rules + "the timestamp rule holds here (Linux accepts on it), the sequence number rule does not. "
	}
	return rules + "neither holds here, so the SYN is taken for an old duplicate and refused. "
}

// timeWaitBlocked reports an active transfer that failed without any SYN
// while the only 5-tuple the server could use (its fixed source port to
// the client's fixed PORT) was still in TIME-WAIT from the previous data
// connection: the server's connect() fails before a packet leaves.
func (d *diag) timeWaitBlocked(s *ftpflow.Session, t *ftpflow.Transfer) {
	o := t.Offer
	if o == nil || o.Passive() || t.Status == ftpflow.StatusOK {
		return
	}
	var prev *ftpflow.Conn
	for _, x := range s.Transfers {
		if x == t {
			break
		}
		if c := x.Data; c != nil && c.Server == o.Endpoint && c.Client.Addr() == s.Server.Addr() && c.Handshake {
			prev = c
		}
	}
	if prev == nil || prev.Reset != nil || !(prev.FIN[ftpflow.Client].Seen() && prev.FIN[ftpflow.Server].Seen()) {
		return
	}
	closed := prev.Last
	gap := t.Time.Sub(closed.Time)
	if gap < 0 || gap >= d.opt.TimeWait {
		return
	}
	holder := prev.Client
	if compareFIN(prev) == ftpflow.Server {
		holder = prev.Server
	}
	ev := newEvidence(map[string]any{
		"previous_connection": prev.ID, "previous_closed": stamp(closed.Time),
		"seconds_since_close": gap.Seconds(), "time_wait_seconds": d.opt.TimeWait.Seconds(),
		"time_wait_holder": holder.String(), "syn_sent": false,
	})
	ev.tuple(prev.Client, prev.Server)
	ev.frame("previous_closed_frame", closed.Frame)
	ev.transfer(t)
	finalReply(ev, t)
	expl := fmt.Sprintf("The client announced the same endpoint %s again (a PORT listener on a fixed port), and the server connects from a fixed port too (%d), so the new data connection would have the exact 5-tuple of connection %d, closed only %s before. "+
		"The side that closed first (%s) keeps that tuple in TIME-WAIT for 2*MSL (%s here; 240 s on older Windows, 60 s on Linux). No SYN for the new connection appears in the capture: the server's connect() was refused locally (EADDRINUSE/EADDRNOTAVAIL, or, without TCP timestamps, the TIME-WAIT side would reject the SYN), and it answered the transfer command with a failure. This is the classic intermittent \"425 Can't open data connection\".",
		o.Endpoint, prev.Client.Port(), prev.ID, short(gap), holder, d.opt.TimeWait)
	id := d.add(Finding{Kind: KindTimeWaitReuse, Severity: Error, Session: s.ID, Transfer: t.ID,
		Summary:     fmt.Sprintf("no SYN sent: the data connection's only 5-tuple was still in TIME-WAIT (connection %d closed %s earlier)", prev.ID, short(gap)),
		Explanation: expl,
		Remediation: "Let the client use a new ephemeral port for every PORT (do not bind the data listener to a fixed port), or use passive mode; keep TCP timestamps enabled (RFC 6191 lets Linux reuse such tuples); on the server, an ephemeral source port for active connections (vsftpd connect_from_port_20=NO) also avoids the collision."}, ev)
	d.explain(id, t)
}

// compareFIN returns the side of a connection that sent the first FIN.
func compareFIN(c *ftpflow.Conn) ftpflow.Side {
	f0, f1 := c.FIN[ftpflow.Client], c.FIN[ftpflow.Server]
	if f1.Seen() && (!f0.Seen() || f1.Time.Before(f0.Time) || f1.Time.Equal(f0.Time) && f1.Frame < f0.Frame) {
		return ftpflow.Server
	}
	return ftpflow.Client
}

// short formats a duration for a summary: to the millisecond, or to the
// microsecond below one.
func short(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// otherEnd returns the previous connection's server endpoint, in terms of
// the new connection's endpoints.
func otherEnd(p *ftpflow.PreviousIncarnation, c *ftpflow.Conn) netip.AddrPort {
	if p.Client == c.Client {
		return c.Server
	}
	return c.Client
}

// seqAfter compares 32-bit sequence numbers or timestamps modulo 2^32.
func seqAfter(a, b uint32) bool { return int32(a-b) > 0 }

// mtu reports a data connection whose full-size segments vanish while
// small ones pass: a path MTU black hole.
func (d *diag) mtu(s *ftpflow.Session, t *ftpflow.Transfer, c *ftpflow.Conn) {
	sender := t.DataSender()
	receiver := sender.Other()
	if c.LargeRetransmissions[sender] < 2 || c.Acked[sender] >= c.Bytes[sender] {
		d.stalledData(s, t, c)
		return
	}
	mssPeer := c.MSS[receiver]
	if mssPeer > 0 && c.MaxSegment[sender] > mssPeer {
		// Larger than the peer allows: the capture host's segmentation
		// offload (TSO/GSO) merged segments; sizes on the wire are unknown.
		return
	}
	ev := newEvidence(map[string]any{
		"sender": endpointOf(c, sender).String(), "max_segment": c.MaxSegment[sender],
		"mss_sender": c.MSS[sender], "mss_receiver": mssPeer,
		"large_retransmissions": c.LargeRetransmissions[sender], "bytes_sent": c.Bytes[sender],
		"bytes_acknowledged": c.Acked[sender],
	})
	ev.frame("first_data_frame", c.FirstData.Frame)
	ev.frame("last_data_frame", c.LastData.Frame)
	ev.transfer(t)
	ev.icmpTooBig(c.TooBig)
	fail := failed(t) || t.Outcome == ftpflow.OutcomeIncomplete || t.Status != ftpflow.StatusOK
	expl := fmt.Sprintf("The data sender %s sent segments of up to %d bytes (the receiver's MSS is %d) and had to retransmit %d large segments, while the receiver acknowledged only %d of %d bytes. "+
		"Small packets (the handshake, the control channel, small segments) pass, full-size ones vanish: a link on the path has a smaller MTU than the endpoints assume, and the ICMP \"fragmentation needed\" (or ICMPv6 \"packet too big\") messages that should make the sender shrink its segments are dropped on the way back. ",
		endpointOf(c, sender), c.MaxSegment[sender], mssPeer, c.LargeRetransmissions[sender], c.Acked[sender], c.Bytes[sender])
	if len(c.TooBig) > 0 {
		expl += fmt.Sprintf("The capture holds %d such ICMP error(s), naming an MTU of %d: they exist but evidently do not reach or convince the sender. ", len(c.TooBig), c.TooBig[0].MTU)
	} else {
		expl += "The capture holds no ICMP \"fragmentation needed\" for this connection. "
	}
	expl += "Segments larger than the receiver's MSS would instead mean the capture host's segmentation offload, which is not a network problem; that is not the case here."
	rem := "Let ICMP type 3 code 4 (and ICMPv6 type 2) through every firewall on the path; or clamp the MSS on the router with the small link (iptables -t mangle ... -j TCPMSS --clamp-mss-to-pmtu); or enable packetization-layer PMTU discovery (Linux net.ipv4.tcp_mtu_probing=1)."
	sev := Warning
	if fail {
		sev = Error
	}
	id := d.add(Finding{Kind: KindMTUBlackhole, Severity: sev, Confidence: Likely, Session: s.ID, Transfer: t.ID,
		Summary:     fmt.Sprintf("%d-byte data segments retransmitted without acknowledgement while small packets pass: path MTU black hole", c.MaxSegment[sender]),
		Explanation: expl, Remediation: rem}, ev)
	if fail {
		d.explain(id, t)
	}
}

// stalledSilence is how long an established data connection must stay
// silent, with data expected, to be called stalled.
const stalledSilence = 2 * time.Second

// stalledData reports, seen from the data receiver's side, a data
// connection whose handshake completed but on which no data ever arrived
// while the server said it was sending: what an MTU black hole looks like
// from the receiving end, where the lost full-size segments never show.
func (d *diag) stalledData(s *ftpflow.Session, t *ftpflow.Transfer, c *ftpflow.Conn) {
	sender := t.DataSender()
	if !c.Established() || !c.Handshake || c.Bytes[sender] > 0 || t.Preliminary() == nil || t.ExpectedSize == 0 {
		return
	}
	if f := t.Final(); f != nil && f.Code < 400 {
		return // the server says it worked: an empty transfer
	}
	silent := c.Last.Time.Sub(c.SYNACK.Time)
	if end := t.Final(); end != nil {
		silent = end.Time.Sub(c.SYNACK.Time)
	}
	if silent < stalledSilence {
		return
	}
	mss := c.MSS[sender.Other()]
	ev := newEvidence(map[string]any{
		"silent_seconds": silent.Seconds(), "mss_receiver": mss, "mss_sender": c.MSS[sender],
		"bytes_received": 0,
	})
	ev.conn(c)
	ev.frame("synack_frame", c.SYNACK.Frame)
	expectedSize(ev, t)
	ev.transfer(t)
	// The transfer failed: an error, whose cause this side cannot prove.
	id := d.add(Finding{Kind: KindMTUBlackhole, Severity: Error, Confidence: Possible, Session: s.ID, Transfer: t.ID,
		Summary: fmt.Sprintf("data connection open for %s but not one byte arrived while the server was sending: suspected MTU black hole", silent.Round(time.Millisecond)),
		Explanation: fmt.Sprintf("The data connection's handshake (small packets) completed and the server announced the transfer (%d), yet in %s not a single data segment reached this side. "+
			"This is how a path MTU black hole looks from the receiving end: the sender's full-size segments (up to the MSS of %d announced here) are too big for a link on the path, and the ICMP messages that should shrink them are dropped, so they vanish, while the small handshake and control packets pass. "+
			"A capture at the sender would show those segments retransmitted; this one cannot prove it.",
			t.Preliminary().Code, silent.Round(time.Millisecond), mss),
		Remediation: "Capture at the sending side to confirm; let ICMP \"fragmentation needed\" (type 3 code 4) and ICMPv6 \"packet too big\" through the firewalls on the path, or clamp the MSS on the router with the smaller link (iptables ... -j TCPMSS --clamp-mss-to-pmtu)."}, ev)
	d.explain(id, t)
}

// findHolders finds, for every refusal of s saying the passive ports ran
// out, the announcements that held the server's ports at that moment:
// offers of the same server made before it and not yet over (no connection
// that ended, session still open). Their sessions' idle offers are part of
// that story, not failures of their own (see markHeldOffers).
func (d *diag) findHolders(s *ftpflow.Session) {
	sr := d.servers[s.Server.Addr()]
	if sr == nil {
		return
	}
	for _, r := range s.Refusals {
		if !exhaustionText(r.Reply.Text) {
			continue
		}
		var held []*offerRecord
		for _, rec := range sr.offers {
			if rec.hold.from.Before(r.Reply.Time) && !rec.over(r.Reply.Time) {
				held = append(held, rec)
				if rec.session == s.ID && rec.idle {
					d.offerExplained[rec.offer] = true
				}
			}
		}
		slices.SortFunc(held, compareRecords)
		d.holders[r] = held
	}
}

// outsideRange is how far from the ports held a new passive port must lie
// to count as outside the server's range.
const outsideRange = 256

// outOfRange reports passive ports of s announced outside the server's
// range while its range was full: the ports held at that moment form a
// small cluster and the new one lies far from it. ProFTPD falls back to
// any port when its PassivePorts are taken; a firewall opened for the range
// alone then blocks the data connection.
func (d *diag) outOfRange(s *ftpflow.Session) {
	server := s.Server.Addr()
	sr := d.servers[server]
	if sr == nil {
		return
	}
	// The session's own offers, in the index's order (by the start of
	// their holds), without scanning every offer of the server.
	own := slices.Clone(sr.sessionOffers(s.ID))
	slices.SortStableFunc(own, func(a, b *offerRecord) int { return a.hold.from.Compare(b.hold.from) })
	for _, h := range own {
		busy, lo, hi, ok := sr.outOfRange(h)
		if !ok {
			continue
		}
		var ports []string
		for _, x := range busy {
			ports = append(ports, fmt.Sprintf("%d (session %d)", x.endpoint.Port(), x.session))
			if x.session == s.ID && x.idle {
				d.offerExplained[x.offer] = true
			}
		}
		p := int(h.endpoint.Port())
		ev := newEvidence(map[string]any{
			"server": server.String(), "inferred_range": fmt.Sprintf("%d-%d", lo, hi), "ports_held": len(busy),
		})
		ev.heldOffer(h)
		d.add(Finding{Kind: KindPassivePortExhaustion, Severity: Warning, Confidence: Likely, Session: s.ID,
			Summary: fmt.Sprintf("server %s announced port %d, far outside the ports %d-%d it had been using, all held at that moment", server, p, lo, hi),
			Explanation: fmt.Sprintf("When the server announced %s (frame %d), its passive ports %s were all taken by earlier announcements still in use, so its configured range, apparently %d-%d, was full. "+
				"Instead of refusing, it picked a port outside the range, as ProFTPD does when its PassivePorts are exhausted (its log says \"unable to find open port in PassivePorts range\"). "+
				"The transfer works only if nothing between client and server restricts the data ports to the range: a firewall opened for %d-%d drops this connection.",
				h.endpoint, h.frame, strings.Join(ports, ", "), lo, hi, lo, hi),
			Remediation: "Widen the passive port range (ProFTPD PassivePorts, vsftpd pasv_min_port/pasv_max_port, Pure-FTPd -p) to cover the concurrent sessions, and open exactly that range in the firewall; limit concurrent sessions per client."}, ev)
	}
}

// offerHold returns how long a passive offer holds its port.
func offerHold(s *ftpflow.Session, o *ftpflow.Offer) portHold {
	h := portHold{from: o.Time, to: s.Control.Last.Time}
	if len(o.Conns) > 0 {
		h.to = o.Conns[len(o.Conns)-1].Last.Time
		return h
	}
	for _, x := range s.Offers {
		if x.Passive() && x.Time.After(o.Time) {
			h.to = x.Time
			break
		}
	}
	return h
}

// exhaustionReply reports a server that says its passive ports ran out:
// one finding per session, which counts the refusals.
func (d *diag) exhaustionReply(s *ftpflow.Session, t *ftpflow.Transfer, reply *ftpflow.ReplyRecord) {
	if d.exhaustion.index >= 0 {
		d.countRefusal(t, reply)
		return
	}
	ev := newEvidence(nil)
	ev.reply("server_reply", reply)
	ev.refusal(reply.Frame)
	ev.transfer(t)
	expl := fmt.Sprintf("The server answered %d %q: it could not find a free port in its passive range. Each passive transfer holds a port from the PASV reply until the client connects, and some servers cannot reuse a port while an earlier connection on it lingers; with a small range, a few concurrent or quick transfers exhaust it. The capacity is roughly ports / TIME-WAIT transfers per second.", reply.Code, reply.Text)
	rem := "Widen the passive port range (vsftpd pasv_min_port/pasv_max_port, ProFTPD PassivePorts, Pure-FTPd -p) and open the same range in the firewall; limit concurrent sessions per client."
	if r := t.Refusal; r != nil {
		ev.request(r.Frame)
		ev.set("command", r.Command)
		expl += d.portsHeld(ev, r)
	}
	id := d.add(Finding{Kind: KindPassivePortExhaustion, Severity: Error, Session: s.ID, Transfer: t.ID,
		Summary:     fmt.Sprintf("server out of passive ports: %d %s", reply.Code, truncate(reply.Text, 70)),
		Explanation: expl, Remediation: rem}, ev)
	d.exhaustion.index, d.exhaustion.ev = len(d.out)-1, ev
	if t.ID != 0 {
		d.explain(id, t)
	}
}

// countRefusal counts one more refusal of passive ports in the session's
// finding about them, its display filter included.
func (d *diag) countRefusal(t *ftpflow.Transfer, reply *ftpflow.ReplyRecord) {
	x := &d.exhaustion
	x.ev.refusal(reply.Frame)
	f := &d.out[x.index]
	f.Filter = "" // drawn again from the Refs, which cite one more reply
	x.ev.fill(f)
	f.Summary = fmt.Sprintf("server out of passive ports (%d times): %d %s", len(x.ev.refused), reply.Code, truncate(reply.Text, 60))
	if t.ID != 0 {
		d.explain(f.ID, t)
	}
}

// portsHeld records the passive ports of the server held when it refused
// r, and returns the sentence that lists them (empty when none).
func (d *diag) portsHeld(ev *evidence, r *ftpflow.Refusal) string {
	held := d.holders[r]
	if len(held) == 0 {
		return ""
	}
	ev.portsHeld(held)
	ports := make([]string, len(held))
	for i, o := range held {
		ports[i] = fmt.Sprintf("%d (session %d)", o.endpoint.Port(), o.session)
	}
	return fmt.Sprintf(" At that moment the capture shows %d passive port(s) of this server announced and still held: %s.", len(held), strings.Join(ports, ", "))
}

// Exhaustion estimate thresholds.
const (
	exhaustionMinOffers = 6   // fewer passive offers tell nothing about a range
	exhaustionMaxRange  = 256 // a larger spread is not a small configured range
	exhaustionWarnRatio = 0.8 // warn when this share of the range is held at once
)

// portHold is the time a passive offer holds its port: from the reply
// until its data connection ends, or, when no connection used it, until
// the session asked for another port or ended.
type portHold struct{ from, to time.Time }

// portExhaustion estimates each server's passive port range from the ports
// it announced, and compares the number of ports held at once with it.
func (d *diag) portExhaustion() {
	servers := make([]netip.Addr, 0, len(d.servers))
	for a, sr := range d.servers {
		if len(sr.uses) > 0 {
			servers = append(servers, a)
		}
	}
	// In the order the servers first appear among the sessions.
	slices.SortFunc(servers, func(a, b netip.Addr) int { return d.servers[a].firstSession - d.servers[b].firstSession })
	for _, server := range servers {
		uses := d.servers[server].uses
		if len(uses) < exhaustionMinOffers {
			continue
		}
		r := measureRange(uses)
		if r.span() > exhaustionMaxRange {
			continue
		}
		if float64(r.peak) < exhaustionWarnRatio*float64(r.span()) || r.peak < 2 {
			if len(d.servers[server].refusals) == 0 {
				d.passiveRange(server, uses, r)
			}
			continue
		}
		d.rangeNearlyFull(server, r)
	}
}

// rangeUse is what a server's passive offers show of its port range.
type rangeUse struct {
	lo, hi   int // the lowest and highest port announced
	distinct int // ports announced
	offers   int
	unused   int // offers no connection used
	peak     int // ports held at once, at most
	peakAt   time.Time
	sessions []int // the sessions of the offers, in order
}

func (r rangeUse) span() int { return r.hi - r.lo + 1 }

func measureRange(uses []portUse) rangeUse {
	r := rangeUse{lo: 65535, offers: len(uses)}
	ports := map[uint16]bool{}
	sessionSet := map[int]bool{}
	holds := make([]portHold, 0, len(uses))
	for _, u := range uses {
		r.lo, r.hi = min(r.lo, int(u.port)), max(r.hi, int(u.port))
		ports[u.port] = true
		sessionSet[u.session] = true
		if !u.used {
			r.unused++
		}
		holds = append(holds, u.hold)
	}
	r.distinct = len(ports)
	r.peak, r.peakAt = peakHolds(holds)
	for id := range sessionSet {
		r.sessions = append(r.sessions, id)
	}
	slices.Sort(r.sessions)
	return r
}

// rangeNearlyFull reports a server holding nearly all of its inferred
// passive port range at once.
func (d *diag) rangeNearlyFull(server netip.Addr, r rangeUse) {
	lo, hi, span := r.lo, r.hi, r.span()
	capacity := float64(span) / d.opt.TimeWait.Seconds()
	ev := newEvidence(map[string]any{
		"server": server.String(), "inferred_range": fmt.Sprintf("%d-%d", lo, hi), "range_ports": span,
		"distinct_ports_seen": r.distinct, "offers": r.offers, "unused_offers": r.unused,
		"peak_ports_held": r.peak, "peak_time": stamp(r.peakAt), "time_wait_seconds": d.opt.TimeWait.Seconds(),
		"capacity_per_second": capacity, "sessions": r.sessions,
	})
	d.add(Finding{Kind: KindPassivePortExhaustion, Severity: Warning, Confidence: Likely, Session: r.sessions[0],
		Summary: fmt.Sprintf("server %s holds %d of its %d passive ports (%d-%d) at once: its range is nearly exhausted",
			server, r.peak, span, lo, hi),
		Explanation: fmt.Sprintf("Every PASV reply reserves a port of the server's passive range until the client has connected and the transfer ends; an announcement nobody uses holds its port until the session moves on. "+
			"The ports announced here all fall within %d-%d, so the range is probably that small, and at %s %d of them were held at once (%d announcements were never used by a connection). "+
			"When all are taken the server answers PASV with an error (vsftpd: 500 OOPS: vsf_sysutil_bind) or 425 Try later. A port whose last connection lingers in TIME-WAIT may also be unusable for the same client, so under quick sequential transfers the sustained rate is about ports / TIME-WAIT = %d / %s = %.2f transfers per second.",
			lo, hi, stamp(r.peakAt), r.peak, r.unused, span, d.opt.TimeWait, capacity),
		Remediation: "Widen the passive port range (vsftpd pasv_min_port/pasv_max_port, ProFTPD PassivePorts, Pure-FTPd -p) and open it in the firewall; limit concurrent sessions per client, or batch small files in fewer transfers.",
		Filter:      fmt.Sprintf("%s && (ftp.response.code == 227 || ftp.response.code == 229 || tcp.port in {%d..%d})", hostFilter(server), lo, hi)}, ev)
}

// peakHolds returns the largest number of overlapping holds and when.
func peakHolds(hs []portHold) (int, time.Time) {
	type edge struct {
		at    time.Time
		delta int
	}
	edges := make([]edge, 0, 2*len(hs))
	for _, h := range hs {
		edges = append(edges, edge{h.from, 1}, edge{h.to, -1})
	}
	slices.SortFunc(edges, func(x, y edge) int {
		if c := x.at.Compare(y.at); c != 0 {
			return c
		}
		return x.delta - y.delta // ends before starts at the same instant
	})
	n, peak := 0, 0
	var at time.Time
	for _, e := range edges {
		n += e.delta
		if n > peak {
			peak, at = n, e.at
		}
	}
	return peak, at
}
