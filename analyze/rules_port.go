package analyze

import (
	"fmt"
	"net/netip"

	"ftpdiag/ftpflow"
)

// portFacts are what decides how serious a group of active announcements
// (PORT, EPRT, LPRT) of one address is, as plain values: judgePORT reads
// nothing else.
type portFacts struct {
	// class is the announced address's addressClass.
	class string
	// sameAsClient: the client announces the address the server sees it
	// at (unroutable, to a server outside private space).
	sameAsClient bool
	// otherFamily: the announced address is not of the control client's
	// address family.
	otherFamily bool
	// refused: the server refused an announcement (4xx/5xx).
	refused bool
	// transfers used the announcements; failed of them failed, or had
	// their announcement refused.
	transfers, failed int
	// toAnnounced and toControl count the server's connections to the
	// announced address and to another one (the client's control address).
	toAnnounced, toControl int
}

// portShape says how an announced address relates to the control
// connection's client.
type portShape uint8

const (
	// portOwnAddress: the client's own unroutable address, announced to a
	// server outside private space (a capture inside the client's NAT).
	portOwnAddress portShape = iota
	// portOtherFamily: an address of the other family (dual stack).
	portOtherFamily
	// portThirdParty: a public address other than the client's (FXP, or
	// a bounce attack).
	portThirdParty
	// portBehindNAT: an unroutable address other than the client's (the
	// client behind NAT, seen from outside).
	portBehindNAT
)

// portOutcome says what the server made of the announcements.
type portOutcome uint8

const (
	portNoOutcome   portOutcome = iota // nothing to say
	portFailed                         // a transfer failed
	portToControl                      // it connected to the client's control address instead
	portToAnnounced                    // its connection to the announced address went through
	portUnused                         // no transfer used the announcements
)

// portVerdict is what judgePORT decides.
type portVerdict struct {
	severity Severity
	shape    portShape
	outcome  portOutcome
}

// judgePORT decides from the facts how serious a group of active
// announcements is, and which explanation fits: an error when a transfer
// failed or the server refused; info when a NAT helper made the client's
// own address work, or for the other address family; a warning otherwise.
func judgePORT(f portFacts) portVerdict {
	v := portVerdict{severity: Warning, shape: portBehindNAT, outcome: portNoOutcome}
	switch {
	case f.failed > 0 || f.refused:
		v.severity = Error
	case f.sameAsClient && f.toAnnounced > 0:
		v.severity = Info // the helper rewrote it and it worked
	case f.otherFamily:
		v.severity = Info
	}
	switch {
	case f.sameAsClient:
		v.shape = portOwnAddress
	case f.otherFamily:
		v.shape = portOtherFamily
	case f.class == "public":
		v.shape = portThirdParty
	}
	switch {
	case f.failed > 0:
		v.outcome = portFailed
	case f.toControl > 0 && f.toAnnounced == 0:
		v.outcome = portToControl
	case f.toAnnounced > 0:
		v.outcome = portToAnnounced
	case f.transfers == 0:
		v.outcome = portUnused
	}
	return v
}

// portGroup is one announced address's active announcements in a
// session, with what happened to them.
type portGroup struct {
	s         *ftpflow.Session
	announced netip.Addr
	offers    []*ftpflow.Offer
	// transfers used the offers; bad of them failed.
	transfers, bad []*ftpflow.Transfer
	// refused is the server's first refusal of an offer (nil: none).
	refused *ftpflow.ReplyRecord
	// explained are the offers whose refusal the finding reports.
	explained []*ftpflow.Offer
	facts     portFacts
}

// gatherPORT collects what happened to active announcements of one
// address.
func gatherPORT(s *ftpflow.Session, announced netip.Addr, offers []*ftpflow.Offer) *portGroup {
	g := &portGroup{s: s, announced: announced, offers: offers}
	f := &g.facts
	for _, o := range offers {
		refused := o.Answer != nil && o.Answer.Code >= 400
		if refused {
			g.explained = append(g.explained, o)
			if g.refused == nil {
				g.refused = o.Answer
			}
		}
		for _, c := range o.Conns {
			if c.Server.Addr() == announced {
				f.toAnnounced++
			} else {
				f.toControl++
			}
		}
		for _, t := range o.Transfers {
			g.transfers = append(g.transfers, t)
			if failed(t) || refused {
				g.bad = append(g.bad, t)
			}
		}
	}
	f.class = addressClass(announced)
	f.sameAsClient = announced == s.Client.Addr()
	f.otherFamily = announced.Is4() != s.Client.Addr().Is4()
	f.refused = g.refused != nil
	f.transfers, f.failed = len(g.transfers), len(g.bad)
	return g
}

// portAddress reports the active announcements of one address other than
// the client's.
func (d *diag) portAddress(s *ftpflow.Session, announced netip.Addr, offers []*ftpflow.Offer) {
	g := gatherPORT(s, announced, offers)
	for _, o := range g.explained {
		d.offerExplained[o] = true
	}
	v := judgePORT(g.facts)
	tid := 0
	if len(g.bad) > 0 {
		tid = g.bad[0].ID
	}
	rem := "Use passive mode (EPSV/PASV), which needs no incoming connection to the client; or enable the FTP helper on the client's NAT router (nf_conntrack_ftp with a CT --helper ftp rule for the control port, also for non-standard ports via its ports= option); or configure the client's external address (lftp ftp:port-ipv4, FileZilla \"external IP\")."
	if v.shape == portThirdParty {
		rem = "If no server-to-server transfer was intended, block PORT to third hosts on the server (vsftpd does by default; ProFTPD AllowForeignAddress off) and investigate the client."
	}
	id := d.add(Finding{Kind: KindPORTAddressMismatch, Severity: v.severity, Session: s.ID, Transfer: tid,
		Summary: g.summary(v.shape), Explanation: g.explanation(v), Remediation: rem,
		Filter: g.filter()}, g.evidence())
	d.explain(id, g.bad...)
}

func (g *portGroup) evidence() *evidence {
	s, f := g.s, g.facts
	ev := newEvidence(map[string]any{
		"announced_address": g.announced.String(), "address_class": f.class,
		"control_client": s.Client.String(), "control_server": s.Server.String(), "offers": len(g.offers),
		"failed_transfers": transferIDs(g.bad), "connections_to_announced": f.toAnnounced,
		"connections_to_control_address": f.toControl, "vantage": s.Control.Locate().Side.String(),
	})
	ev.firstOffer(g.offers[0])
	ev.transfers(transferIDs(g.transfers))
	if g.refused != nil {
		ev.reply("server_reply", g.refused)
	}
	if len(g.bad) > 0 {
		finalReply(ev, g.bad[0])
	}
	return ev
}

func (g *portGroup) summary(shape portShape) string {
	s, first, class := g.s, g.offers[0], g.facts.class
	switch shape {
	case portOwnAddress:
		return fmt.Sprintf("client %s sends its %s address in %s to server %s outside private space", s.Client.Addr(), class, first.Kind, s.Server.Addr())
	case portOtherFamily:
		return fmt.Sprintf("%s announces %s, of another address family than the control connection's client %s", first.Kind, g.announced, s.Client.Addr())
	case portThirdParty:
		return fmt.Sprintf("%s names a third host %s:%d, not the client %s", first.Kind, g.announced, first.Endpoint.Port(), s.Client.Addr())
	}
	return fmt.Sprintf("%s announces %s (%s) but the client's control address is %s (%s)", first.Kind, g.announced, class, s.Client.Addr(), addressClass(s.Client.Addr()))
}

// explanation says how active mode announces an endpoint, what is wrong
// with this address, what the server said and what came of it.
func (g *portGroup) explanation(v portVerdict) string {
	s, first := g.s, g.offers[0]
	expl := fmt.Sprintf("In active mode the client tells the server where to connect for data: %s %s (frame %d) names %s, %s. ",
		first.Kind, truncate(first.Line, 60), first.Frame, first.Endpoint, portEncoding(first))
	expl += g.addressSentence(v.shape)
	if s.Server.Port() != 21 {
		expl += fmt.Sprintf("The control connection uses port %d, which NAT helpers do not watch. ", s.Server.Port())
	}
	if r := g.refused; r != nil {
		expl += fmt.Sprintf("The server refused it with %d %q: %s. ", r.Code, r.Text, portRefusalMeaning(s, first))
	}
	switch v.outcome {
	case portFailed:
		expl += "The transfer failed."
	case portToControl:
		expl += "The server connected to the client's control address instead (some servers and NAT rewrites do so), which is why it worked."
	case portToAnnounced:
		expl += "The server's connection to the announced address went through: a NAT or helper on the path made it reachable."
	case portUnused:
		expl += "No transfer used it in the capture."
	}
	return expl
}

// portEncoding says how an active announcement spells its port.
func portEncoding(o *ftpflow.Offer) string {
	p := o.Endpoint.Port()
	switch o.Kind {
	case ftpflow.OfferPORT:
		return fmt.Sprintf("the port being p1*256+p2 = %d*256+%d = %d", p/256, p%256, p)
	case ftpflow.OfferEPRT:
		return fmt.Sprintf("EPRT's |protocol|address|port| form giving the port, %d, in decimal", p)
	}
	return fmt.Sprintf("the port being %d", p)
}

func (g *portGroup) addressSentence(shape portShape) string {
	switch shape {
	case portOwnAddress:
		return fmt.Sprintf("The capture was taken on the client's side of a NAT router: the client announced its own %s address, which the server on the internet cannot reach. It works only if an FTP helper on the router (nf_conntrack_ftp, an ALG) rewrites the PORT command on its way out, which it can do only for clear-text FTP on the port it watches (21). ", g.facts.class)
	case portThirdParty:
		return "A public address other than the client's: a server-to-server (FXP) transfer set up by the client, or an FTP bounce attack that makes the server connect to a third host (RFC 2577); a port below 1024, such as 80 or 25, points at the latter. "
	case portOtherFamily:
		return "A dual-stack client announced an endpoint of the other address family; it works only if the server is reachable in both families and accepts it. "
	}
	return fmt.Sprintf("The announced address is %s, not the address the server sees the client at: the client is behind NAT and no FTP helper rewrote the command (helpers only watch port 21, and cannot read an encrypted control channel). ", g.facts.class)
}

// activeAddrField names the tshark field holding the address of the
// announcements, when they are all of one kind it decodes: ftp.active.cip
// for PORT, ftp.eprt.ip or ftp.eprt.ipv6 for EPRT (tshark leaves
// ftp.active.cip empty for EPRT).
func activeAddrField(offers []*ftpflow.Offer, a netip.Addr) string {
	kind := offers[0].Kind
	for _, o := range offers {
		if o.Kind != kind {
			return ""
		}
	}
	switch {
	case kind == ftpflow.OfferPORT && a.Is4():
		return "ftp.active.cip"
	case kind == ftpflow.OfferEPRT && a.Is4():
		return "ftp.eprt.ip"
	case kind == ftpflow.OfferEPRT && a.Is6():
		return "ftp.eprt.ipv6"
	}
	return ""
}

// filter shows the announcements and the server's refusal.
func (g *portGroup) filter() string {
	first := g.offers[0]
	filter := fmt.Sprintf("frame.number == %d", first.Frame)
	if field := activeAddrField(g.offers, g.announced); field != "" {
		filter = fmt.Sprintf("%s == %s || frame.number == %d", field, g.announced, first.Frame)
	}
	if r := g.refused; r != nil {
		filter += fmt.Sprintf(" || frame.number == %d", r.Frame)
	}
	if len(g.bad) > 0 {
		if f := g.bad[0].Final(); f != nil {
			filter += fmt.Sprintf(" || frame.number == %d", f.Frame) // the reply the evidence cites
		}
	}
	return filter
}
