package analyze

import (
	"fmt"
	"net/netip"

	"ftpdiag/ftpflow"
)

// pasvFacts are what decides how serious a group of passive announcements
// of one address is, as plain values: judgePASV reads nothing else.
type pasvFacts struct {
	// class is the announced address's addressClass.
	class string
	// sameAsServer: the server announces the address the client reached
	// it at (unroutable, to a client outside private space).
	sameAsServer bool
	// serverUnroutable: the client reaches the server at an unroutable
	// address.
	serverUnroutable bool
	// clientOutside: the client's address is routable.
	clientOutside bool
	// vantage is where the capture was taken.
	vantage ftpflow.Vantage
	// transfers used the announcements; failed of them failed on the
	// announced address (or without a data connection).
	transfers, failed int
	// toAnnounced and toControl count the connections made to the
	// announced address and, with the announced port, to the control
	// connection's server address.
	toAnnounced, toControl int
	// dead counts the connections to the announced address never
	// answered.
	dead int
	// abandoned: the session's last announcement was of this address, no
	// connection towards it reached the capture, no transfer command
	// followed and the session ended.
	abandoned bool
}

// pasvShape says how an announced address relates to the control
// connection's.
type pasvShape uint8

const (
	// pasvOwnAddress: the server's own unroutable address, announced to a
	// client outside private space.
	pasvOwnAddress pasvShape = iota
	// pasvInternal: another, unroutable address (the server behind NAT).
	pasvInternal
	// pasvHairpin: a public address, while the client reaches the server
	// at an unroutable one.
	pasvHairpin
	// pasvOtherPublic: another public address.
	pasvOtherPublic
	// pasvBehindDNAT: a public address, while a client outside private
	// space reaches the server at an unroutable one: the capture was taken
	// behind a destination NAT, and the announcement is right.
	pasvBehindDNAT
)

// pasvOutcome says what the client made of the announcements.
type pasvOutcome uint8

const (
	pasvIgnored   pasvOutcome = iota // it connected to the control address instead
	pasvFailed                       // it used the announced address and the transfer failed
	pasvDeadSYNs                     // its SYNs to the address went unanswered, no command followed
	pasvAbandoned                    // nothing reached the capture and the session ended
	pasvWorked                       // it connected to the announced address
	pasvForwarded                    // its connection arrived through the NAT
	pasvUnused                       // no transfer used the announcements
	pasvUnknown                      // no data connection tells
)

// pasvVerdict is what judgePASV decides.
type pasvVerdict struct {
	severity Severity
	shape    pasvShape
	outcome  pasvOutcome
}

// judgePASV decides from the facts how serious a group of passive
// announcements is, and which explanation fits: an error when the client
// obeyed and failed; a warning when the address cannot work for every
// client; info for a public address that works (a separate data host).
func judgePASV(f pasvFacts) pasvVerdict {
	v := pasvVerdict{severity: Info, shape: pasvOtherPublic, outcome: pasvUnknown}
	if behindDNAT(f) {
		return judgeDNAT(f)
	}
	switch {
	case f.failed > 0 || f.dead > 0 || f.abandoned:
		v.severity = Error
	case f.toControl > 0 || f.sameAsServer || f.class != "public":
		v.severity = Warning
	case f.toAnnounced == 0 && f.serverUnroutable:
		v.severity = Warning
	}
	switch {
	case f.sameAsServer:
		v.shape = pasvOwnAddress
	case f.class != "public":
		v.shape = pasvInternal
	case f.serverUnroutable:
		v.shape = pasvHairpin
	}
	switch {
	case f.toControl > 0 && f.toAnnounced == 0:
		v.outcome = pasvIgnored
	case f.failed > 0:
		v.outcome = pasvFailed
	case f.dead > 0:
		v.outcome = pasvDeadSYNs
	case f.abandoned:
		v.outcome = pasvAbandoned
	case f.toAnnounced > 0:
		v.outcome = pasvWorked
	case f.transfers == 0:
		v.outcome = pasvUnused
	}
	return v
}

// behindDNAT reports whether the facts show a capture behind a
// destination NAT: a client outside private space reaches the server at an
// unroutable address, which only a NAT in front of the server explains
// (unless the capture was taken at the client, which then routes to the
// private address itself, through a VPN for instance), and the server
// announces a public address.
func behindDNAT(f pasvFacts) bool {
	return f.class == "public" && f.serverUnroutable && f.clientOutside && f.vantage != ftpflow.VantageClient
}

// judgeDNAT judges announcements of the NAT's public address seen behind
// it: info, unless a transfer failed. A connection to the server's own
// address with the announced port is the client's, forwarded by the NAT.
func judgeDNAT(f pasvFacts) pasvVerdict {
	v := pasvVerdict{severity: Info, shape: pasvBehindDNAT, outcome: pasvUnknown}
	if f.failed > 0 || f.dead > 0 {
		v.severity = Error
	}
	switch {
	case f.failed > 0:
		v.outcome = pasvFailed
	case f.toControl > 0:
		v.outcome = pasvForwarded
	case f.transfers == 0:
		v.outcome = pasvUnused
	}
	return v
}

// pasvGroup is one announced address's passive announcements in a
// session, with what happened to them.
type pasvGroup struct {
	s         *ftpflow.Session
	announced netip.Addr
	offers    []*ftpflow.Offer
	// transfers used the offers; bad of them failed on the announced
	// address.
	transfers, bad []*ftpflow.Transfer
	// dead are the connections to the announced address never answered.
	dead []*ftpflow.Conn
	// explained are the offers whose failure the finding reports.
	explained []*ftpflow.Offer
	facts     pasvFacts
}

// gatherPASV collects what happened to passive announcements of one
// address.
func gatherPASV(s *ftpflow.Session, announced netip.Addr, offers []*ftpflow.Offer) *pasvGroup {
	g := &pasvGroup{s: s, announced: announced, offers: offers}
	f := &g.facts
	for _, o := range offers {
		for _, c := range o.Conns {
			if c.Server.Addr() != announced {
				f.toControl++
				continue
			}
			f.toAnnounced++
			if c.Handshake && !c.SYNACK.Seen() {
				g.dead = append(g.dead, c)
				g.explained = append(g.explained, o)
			}
		}
		for _, t := range o.Transfers {
			g.transfers = append(g.transfers, t)
			if failed(t) && (t.Data == nil || t.Data.Server.Addr() == announced) {
				g.bad = append(g.bad, t)
			}
		}
	}
	if last := offers[len(offers)-1]; abandonedPASV(s, last) {
		f.abandoned = true
		g.explained = append(g.explained, last)
	}
	f.class = addressClass(announced)
	f.sameAsServer = announced == s.Server.Addr()
	f.serverUnroutable = unroutable(s.Server.Addr())
	f.clientOutside = !unroutable(s.Client.Addr())
	f.vantage = s.Control.Locate().Side
	f.transfers, f.failed, f.dead = len(g.transfers), len(g.bad), len(g.dead)
	return g
}

// abandonedPASV reports whether o, an announcement of an unroutable
// address to a client outside private space, was the session's last, never
// connected to, and the session ended without a transfer: the client tried
// the address and gave up out of sight (seen from the server's side).
func abandonedPASV(s *ftpflow.Session, o *ftpflow.Offer) bool {
	return o == s.Offers[len(s.Offers)-1] && len(o.Conns) == 0 && len(o.Transfers) == 0 &&
		s.Ended().Seen() && !transferAfter(s, o) && unroutable(o.Endpoint.Addr()) && !unroutable(s.Client.Addr())
}

// pasvAddress reports the passive announcements of one address other than
// the server's.
func (d *diag) pasvAddress(s *ftpflow.Session, announced netip.Addr, offers []*ftpflow.Offer) {
	g := gatherPASV(s, announced, offers)
	for _, o := range g.explained {
		d.offerExplained[o] = true
	}
	v := judgePASV(g.facts)
	tid := 0
	if len(g.bad) > 0 {
		tid = g.bad[0].ID
	}
	remedy := pasvRemedy
	if v.shape == pasvBehindDNAT && v.severity == Info {
		remedy = dnatRemedy
	}
	id := d.add(Finding{Kind: KindPASVAddressMismatch, Severity: v.severity, Session: s.ID, Transfer: tid,
		Summary: g.summary(v), Explanation: g.explanation(v), Remediation: remedy,
		Filter: g.filter()}, g.evidence())
	d.explain(id, g.bad...)
}

const pasvRemedy = "Make the server announce the address clients reach it at: vsftpd pasv_address=<public address> (with pasv_addr_resolve), ProFTPD MasqueradeAddress, Pure-FTPd -P <address>, IIS/FileZilla \"external IP\" settings; or use EPSV, which carries no address; or enable the FTP helper on the NAT router for clear-text FTP on port 21. As a client-side workaround, clients can ignore the announced address (curl --ftp-skip-pasv-ip, lftp ftp:ignore-pasv-address)."

const dnatRemedy = "Nothing to change for clients outside the NAT. Clients inside the server's own network that reach it by its private address get the public address too, and depend on the router reflecting (hairpinning) their data connections: give them EPSV, or a server address of their own."

func (g *pasvGroup) evidence() *evidence {
	s, f := g.s, g.facts
	ev := newEvidence(map[string]any{
		"announced_address": g.announced.String(), "address_class": f.class,
		"control_server": s.Server.String(), "control_client": s.Client.String(), "offers": len(g.offers),
		"connections_to_announced": f.toAnnounced, "connections_to_control_address": f.toControl,
		"failed_transfers": transferIDs(g.bad), "vantage": s.Control.Locate().Side.String(),
	})
	ev.firstOffer(g.offers[0])
	ev.transfers(transferIDs(g.transfers))
	if len(g.dead) > 0 {
		c := g.dead[0]
		ev.set("failed_connections", len(g.dead))
		ev.conn(c)
		ev.syns(c)
		ev.set("syn_count", c.SYNCount)
	}
	if len(g.bad) > 0 {
		ev.reply("reply", g.bad[0].Final())
	}
	return ev
}

func (g *pasvGroup) summary(v pasvVerdict) string {
	s := g.s
	switch v.shape {
	case pasvOwnAddress:
		return fmt.Sprintf("server announces its %s address %s to client %s outside private space", g.facts.class, g.announced, s.Client.Addr())
	case pasvBehindDNAT:
		return fmt.Sprintf("server behind destination NAT announces the public address %s, as clients outside must use", g.announced)
	}
	return fmt.Sprintf("%d reply announces %s (%s) but the control connection goes to %s", passiveCode(g.offers[0].Kind), g.announced, g.facts.class, s.Server.Addr())
}

// explanation says how passive mode announces an endpoint, what is wrong
// with this address, and what the client made of it.
func (g *pasvGroup) explanation(v pasvVerdict) string {
	first := g.offers[0]
	expl := fmt.Sprintf("In passive mode the server tells the client where to connect for data: the %d reply %q (frame %d) encodes an address and a port as h1,h2,h3,h4,p1,p2, the port being p1*256+p2 = %d. ",
		passiveCode(first.Kind), truncate(first.Line, 90), first.Frame, first.Endpoint.Port())
	expl += g.addressSentence(v.shape) + g.outcomeSentence(v.outcome)
	if v.severity == Info && v.shape != pasvBehindDNAT {
		expl += " A public address other than the server's that clients can reach may be a deliberate separate data host; nothing failed here."
	}
	return expl
}

func (g *pasvGroup) addressSentence(shape pasvShape) string {
	s, class := g.s, g.facts.class
	if shape == pasvOwnAddress {
		return fmt.Sprintf("Here the server announces its own %s address, but the client %s is not in private space: the server sits behind NAT and announces the address it sees on its own interface. Without an FTP helper on the NAT device rewriting the reply (impossible once the control channel is encrypted), a client that obeys the announcement connects to an address it cannot reach. ",
			class, s.Client.Addr())
	}
	expl := fmt.Sprintf("The announced address %s is not the address the client reached the server at (%s). ", g.announced, s.Server.Addr())
	switch shape {
	case pasvInternal:
		return expl + fmt.Sprintf("It is a %s address: the server is behind NAT and announces its internal address, which the client cannot reach. ", class)
	case pasvBehindDNAT:
		return expl + fmt.Sprintf("The client %s is outside private space yet reaches the server at its %s address: the capture was taken behind a destination NAT (port forwarding) that rewrites the public address to the server's. Announcing the public address is right for clients outside: they connect to it and the NAT forwards the connection. ",
			s.Client.Addr(), addressClass(s.Server.Addr()))
	case pasvHairpin:
		return expl + "The client reaches the server by a private address while the server announces a public one: typical of a server configured with its public NAT address (pasv_address) used by clients inside the same network, who then depend on the router reflecting (hairpinning) the connection. "
	}
	return expl + "It is a public address: either a separate data host (legitimate, though rare), or a stale or wrong pasv_address setting. "
}

func (g *pasvGroup) outcomeSentence(o pasvOutcome) string {
	switch o {
	case pasvIgnored:
		return "The client ignored the announced address and connected to the control connection's address with the announced port, as curl (since 7.74) and Python's ftplib (since 3.9.3) do by default; this is why it worked. A client that obeys the announcement would fail."
	case pasvFailed:
		return "The client used the announced address and the data connection failed."
	case pasvDeadSYNs:
		return fmt.Sprintf("The client obeyed the announcement: its SYNs to %s went unanswered (%d connection attempt(s)), and it gave up before even sending the transfer command, so the server never reported a failure.", g.dead[0].Server, len(g.dead))
	case pasvAbandoned:
		return "No connection to it reached this capture, no transfer command followed, and the session ended: a client obeying the announcement sends its SYNs to an address that does not lead here, then gives up without telling the server (curl and Python's ftplib connect before sending the command)."
	case pasvWorked:
		return "The client connected to the announced address and the transfer worked, so that address is reachable from the client."
	case pasvForwarded:
		return "The client's data connection arrives here at the server's own address with the announced port, as the NAT forwards it: the announcement worked."
	case pasvUnused:
		return "No transfer used these announcements in the capture."
	}
	return "The capture holds no data connection to tell which address the client used."
}

// filter shows the announcements and the failed transfers' data
// connections.
func (g *pasvGroup) filter() string {
	first := g.offers[0]
	filter := fmt.Sprintf("ftp.passive.ip == %s || ftp.response.code == 227 && frame.number == %d", g.announced, first.Frame)
	if !g.announced.Is4() {
		filter = fmt.Sprintf("frame.number == %d", first.Frame)
	}
	for _, t := range g.bad {
		if c := t.Data; c != nil {
			filter += " || " + conversationFilter(c.Client, c.Server)
		}
	}
	if len(g.dead) > 0 {
		// Every unanswered SYN went to the announced address: one term
		// selects them all, however many there were.
		ip := "ip"
		if !g.announced.Is4() {
			ip = "ipv6"
		}
		filter += fmt.Sprintf(" || %s.dst == %s && tcp.flags.syn == 1 && tcp.flags.ack == 0", ip, g.announced)
	}
	return filter
}
