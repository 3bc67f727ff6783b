package analyze

import (
	"fmt"
	"net/netip"
	"strings"

	"ftpdiag/ftpflow"
)

// passiveSuspicious reports whether a passive announcement names an address
// the client should not use: not the control connection's server address
// (seen from the client's side, behind a NAT that did not rewrite it), or an
// unroutable address announced to a client outside private space (seen
// from the server's side). EPSV carries no address and is never suspicious.
func passiveSuspicious(s *ftpflow.Session, o *ftpflow.Offer) bool {
	if o.Kind == ftpflow.OfferEPSV {
		return false
	}
	a := o.Endpoint.Addr()
	if a != s.Server.Addr() {
		return true
	}
	return unroutable(a) && !unroutable(s.Client.Addr())
}

// pasvMismatch reports passive announcements of an address other than the
// server's, one finding per announced address.
func (d *diag) pasvMismatch(s *ftpflow.Session) {
	forEachAddress(s.Offers, func(o *ftpflow.Offer) bool { return o.Passive() && passiveSuspicious(s, o) },
		func(a netip.Addr, offers []*ftpflow.Offer) { d.pasvGroup(s, a, offers) })
}

// forEachAddress groups the offers that keep selects by announced address
// and calls do for each group, in order of first appearance.
func forEachAddress(offers []*ftpflow.Offer, keep func(*ftpflow.Offer) bool, do func(netip.Addr, []*ftpflow.Offer)) {
	groups := map[netip.Addr][]*ftpflow.Offer{}
	var order []netip.Addr
	for _, o := range offers {
		if !keep(o) {
			continue
		}
		a := o.Endpoint.Addr()
		if _, ok := groups[a]; !ok {
			order = append(order, a)
		}
		groups[a] = append(groups[a], o)
	}
	for _, a := range order {
		do(a, groups[a])
	}
}

func (d *diag) pasvGroup(s *ftpflow.Session, announced netip.Addr, offers []*ftpflow.Offer) {
	var transfers, bad []*ftpflow.Transfer
	usedAnnounced, usedControl := 0, 0
	var deadConns []*ftpflow.Conn
	for _, o := range offers {
		for _, c := range o.Conns {
			if c.Server.Addr() == announced {
				usedAnnounced++
				if c.Handshake && !c.SYNACK.Seen() {
					deadConns = append(deadConns, c)
					d.offerExplained[o] = true
				}
			} else {
				usedControl++
			}
		}
		for _, t := range o.Transfers {
			transfers = append(transfers, t)
			if failed(t) && (t.Data == nil || t.Data.Server.Addr() == announced) {
				bad = append(bad, t)
			}
		}
	}
	// The last announcement, never connected to, after which the session
	// ended without a transfer: the client tried the address and gave up
	// out of sight (seen from the server's side).
	abandoned := false
	if last := offers[len(offers)-1]; last == s.Offers[len(s.Offers)-1] && len(last.Conns) == 0 && len(last.Transfers) == 0 &&
		s.Ended().Seen() && !transferAfter(s, last) && unroutable(announced) && !unroutable(s.Client.Addr()) {
		abandoned = true
		d.offerExplained[last] = true
	}
	class := addressClass(announced)
	first := offers[0]
	ev := newEvidence(map[string]any{
		"announced_address": announced.String(), "address_class": class,
		"control_server": s.Server.String(), "control_client": s.Client.String(),
		"offers": len(offers), "connections_to_announced": usedAnnounced,
		"connections_to_control_address": usedControl, "failed_transfers": transferIDs(bad),
		"vantage": s.Control.Vantage().String(),
	})
	ev.firstOffer(first)
	ev.transfers(transferIDs(transfers))
	if len(deadConns) > 0 {
		c := deadConns[0]
		ev.set("failed_connections", len(deadConns))
		ev.conn(c)
		ev.syns(c)
		ev.set("syn_count", c.SYNCount)
	}
	sameAsServer := announced == s.Server.Addr()
	var summary string
	if sameAsServer {
		summary = fmt.Sprintf("server announces its %s address %s to client %s outside private space", class, announced, s.Client.Addr())
	} else {
		summary = fmt.Sprintf("%d reply announces %s (%s) but the control connection goes to %s", passiveCode(first.Kind), announced, class, s.Server.Addr())
	}
	expl := fmt.Sprintf("In passive mode the server tells the client where to connect for data: the %d reply %q (frame %d) encodes an address and a port as h1,h2,h3,h4,p1,p2, the port being p1*256+p2 = %d. ",
		passiveCode(first.Kind), truncate(first.Line, 90), first.Frame, first.Endpoint.Port())
	if sameAsServer {
		expl += fmt.Sprintf("Here the server announces its own %s address, but the client %s is not in private space: the server sits behind NAT and announces the address it sees on its own interface. Without an FTP helper on the NAT device rewriting the reply (impossible once the control channel is encrypted), a client that obeys the announcement connects to an address it cannot reach. ",
			class, s.Client.Addr())
	} else {
		expl += fmt.Sprintf("The announced address %s is not the address the client reached the server at (%s). ", announced, s.Server.Addr())
		switch {
		case class != "public":
			expl += fmt.Sprintf("It is a %s address: the server is behind NAT and announces its internal address, which the client cannot reach. ", class)
		case unroutable(s.Server.Addr()):
			expl += "The client reaches the server by a private address while the server announces a public one: typical of a server configured with its public NAT address (pasv_address) used by clients inside the same network, who then depend on the router reflecting (hairpinning) the connection. "
		default:
			expl += "It is a public address: either a separate data host (legitimate, though rare), or a stale or wrong pasv_address setting. "
		}
	}
	switch {
	case usedControl > 0 && usedAnnounced == 0:
		expl += "The client ignored the announced address and connected to the control connection's address with the announced port, as curl (since 7.74) and Python's ftplib (since 3.9.3) do by default; this is why it worked. A client that obeys the announcement would fail."
	case len(bad) > 0:
		expl += "The client used the announced address and the data connection failed."
	case len(deadConns) > 0:
		expl += fmt.Sprintf("The client obeyed the announcement: its SYNs to %s went unanswered (%d connection attempt(s)), and it gave up before even sending the transfer command, so the server never reported a failure.", deadConns[0].Server, len(deadConns))
	case abandoned:
		expl += "No connection to it reached this capture, no transfer command followed, and the session ended: a client obeying the announcement sends its SYNs to an address that does not lead here, then gives up without telling the server (curl and Python's ftplib connect before sending the command)."
	case usedAnnounced > 0:
		expl += "The client connected to the announced address and the transfer worked, so that address is reachable from the client."
	case len(transfers) == 0:
		expl += "No transfer used these announcements in the capture."
	default:
		expl += "The capture holds no data connection to tell which address the client used."
	}
	rem := "Make the server announce the address clients reach it at: vsftpd pasv_address=<public address> (with pasv_addr_resolve), ProFTPD MasqueradeAddress, Pure-FTPd -P <address>, IIS/FileZilla \"external IP\" settings; or use EPSV, which carries no address; or enable the FTP helper on the NAT router for clear-text FTP on port 21. As a client-side workaround, clients can ignore the announced address (curl --ftp-skip-pasv-ip, lftp ftp:ignore-pasv-address)."
	sev := Info
	switch {
	case len(bad) > 0 || len(deadConns) > 0 || abandoned:
		sev = Error
	case usedControl > 0 || sameAsServer || class != "public":
		sev = Warning
	case usedAnnounced == 0 && unroutable(s.Server.Addr()):
		sev = Warning
	}
	if sev == Info {
		expl += " A public address other than the server's that clients can reach may be a deliberate separate data host; nothing failed here."
	}
	tid := 0
	if len(bad) > 0 {
		tid = bad[0].ID
		ev.reply("reply", bad[0].Final())
	}
	filter := fmt.Sprintf("ftp.passive.ip == %s || ftp.response.code == 227 && frame.number == %d", announced, first.Frame)
	if !announced.Is4() {
		filter = fmt.Sprintf("frame.number == %d", first.Frame)
	}
	for _, t := range bad {
		if c := t.Data; c != nil {
			filter += " || " + conversationFilter(c.Client, c.Server)
		}
	}
	id := d.add(Finding{Kind: KindPASVAddressMismatch, Severity: sev, Session: s.ID, Transfer: tid,
		Summary: summary, Explanation: expl, Remediation: rem, Filter: filter}, ev)
	d.explain(id, bad...)
}

// portMismatch reports active announcements (PORT, EPRT, LPRT) of an
// address other than the client's, one finding per announced address.
func (d *diag) portMismatch(s *ftpflow.Session) {
	forEachAddress(s.Offers, func(o *ftpflow.Offer) bool {
		a := o.Endpoint.Addr()
		return !o.Passive() && (a != s.Client.Addr() || unroutable(a) && !unroutable(s.Server.Addr()))
	}, func(a netip.Addr, offers []*ftpflow.Offer) { d.portGroup(s, a, offers) })
}

func (d *diag) portGroup(s *ftpflow.Session, announced netip.Addr, offers []*ftpflow.Offer) {
	var transfers, bad []*ftpflow.Transfer
	var refused *ftpflow.ReplyRecord
	toAnnounced, toControl := 0, 0
	for _, o := range offers {
		if o.Answer != nil && o.Answer.Code >= 400 {
			d.offerExplained[o] = true
			if refused == nil {
				refused = o.Answer
			}
		}
		for _, c := range o.Conns {
			if c.Server.Addr() == announced {
				toAnnounced++
			} else {
				toControl++
			}
		}
		for _, t := range o.Transfers {
			transfers = append(transfers, t)
			if failed(t) || (o.Answer != nil && o.Answer.Code >= 400) {
				bad = append(bad, t)
			}
		}
	}
	first := offers[0]
	class := addressClass(announced)
	clientClass := addressClass(s.Client.Addr())
	ev := newEvidence(map[string]any{
		"announced_address": announced.String(), "address_class": class,
		"control_client": s.Client.String(), "control_server": s.Server.String(),
		"offers": len(offers), "failed_transfers": transferIDs(bad),
		"connections_to_announced": toAnnounced, "connections_to_control_address": toControl,
		"vantage": s.Control.Vantage().String(),
	})
	ev.firstOffer(first)
	ev.transfers(transferIDs(transfers))
	if refused != nil {
		ev.reply("server_reply", refused)
	}
	sameAsClient := announced == s.Client.Addr()
	thirdParty := !sameAsClient && !unroutable(announced) && announced.Is4() == s.Client.Addr().Is4()
	var summary string
	switch {
	case sameAsClient:
		summary = fmt.Sprintf("client %s sends its %s address in %s to server %s outside private space", s.Client.Addr(), class, first.Kind, s.Server.Addr())
	case announced.Is4() != s.Client.Addr().Is4():
		summary = fmt.Sprintf("%s announces %s, of another address family than the control connection's client %s", first.Kind, announced, s.Client.Addr())
	case thirdParty:
		summary = fmt.Sprintf("%s names a third host %s:%d, not the client %s", first.Kind, announced, first.Endpoint.Port(), s.Client.Addr())
	default:
		summary = fmt.Sprintf("%s announces %s (%s) but the client's control address is %s (%s)", first.Kind, announced, class, s.Client.Addr(), clientClass)
	}
	expl := fmt.Sprintf("In active mode the client tells the server where to connect for data: %s %s (frame %d) names %s, the port being p1*256+p2 = %d for PORT. ",
		first.Kind, truncate(first.Line, 60), first.Frame, first.Endpoint, first.Endpoint.Port())
	switch {
	case sameAsClient:
		expl += fmt.Sprintf("The capture was taken on the client's side of a NAT router: the client announced its own %s address, which the server on the internet cannot reach. It works only if an FTP helper on the router (nf_conntrack_ftp, an ALG) rewrites the PORT command on its way out, which it can do only for clear-text FTP on the port it watches (21). ", class)
	case thirdParty:
		expl += "A public address other than the client's: a server-to-server (FXP) transfer set up by the client, or an FTP bounce attack that makes the server connect to a third host (RFC 2577); a port below 1024, such as 80 or 25, points at the latter. "
	case announced.Is4() != s.Client.Addr().Is4():
		expl += "A dual-stack client announced an endpoint of the other address family; it works only if the server is reachable in both families and accepts it. "
	default:
		expl += fmt.Sprintf("The announced address is %s, not the address the server sees the client at: the client is behind NAT and no FTP helper rewrote the command (helpers only watch port 21, and cannot read an encrypted control channel). ", class)
	}
	if s.Server.Port() != 21 {
		expl += fmt.Sprintf("The control connection uses port %d, which NAT helpers do not watch. ", s.Server.Port())
	}
	if refused != nil {
		expl += fmt.Sprintf("The server refused it with %d %q: servers such as vsftpd reject a PORT address other than the control peer's, precisely to prevent bounce attacks. ", refused.Code, refused.Text)
	}
	switch {
	case len(bad) > 0:
		expl += "The transfer failed."
	case toControl > 0 && toAnnounced == 0:
		expl += "The server connected to the client's control address instead (some servers and NAT rewrites do so), which is why it worked."
	case toAnnounced > 0:
		expl += "The server's connection to the announced address went through: a NAT or helper on the path made it reachable."
	case len(transfers) == 0:
		expl += "No transfer used it in the capture."
	}
	rem := "Use passive mode (EPSV/PASV), which needs no incoming connection to the client; or enable the FTP helper on the client's NAT router (nf_conntrack_ftp with a CT --helper ftp rule for the control port, also for non-standard ports via its ports= option); or configure the client's external address (lftp ftp:port-ipv4, FileZilla \"external IP\")."
	if thirdParty {
		rem = "If no server-to-server transfer was intended, block PORT to third hosts on the server (vsftpd does by default; ProFTPD AllowForeignAddress off) and investigate the client."
	}
	sev := Warning
	switch {
	case len(bad) > 0 || refused != nil:
		sev = Error
	case sameAsClient && len(bad) == 0 && toAnnounced > 0:
		sev = Info // the helper rewrote it and it worked
	case announced.Is4() != s.Client.Addr().Is4():
		sev = Info
	}
	tid := 0
	if len(bad) > 0 {
		tid = bad[0].ID
		finalReply(ev, bad[0])
	}
	filter := fmt.Sprintf("frame.number == %d", first.Frame)
	if announced.Is4() {
		filter = fmt.Sprintf("ftp.active.cip == %s || frame.number == %d", announced, first.Frame)
	}
	if refused != nil {
		filter += fmt.Sprintf(" || frame.number == %d", refused.Frame)
	}
	id := d.add(Finding{Kind: KindPORTAddressMismatch, Severity: sev, Session: s.ID, Transfer: tid,
		Summary: summary, Explanation: expl, Remediation: rem, Filter: filter}, ev)
	d.explain(id, bad...)
}

// refusalTexts are phrases with which real servers refuse a data endpoint or
// connection, mapped to what they mean.
var refusalTexts = []struct{ phrase, meaning string }{
	{"Illegal PORT command", "vsftpd refuses a PORT address other than the control connection's client (port_promiscuous=NO)"},
	{"Security: Bad IP connecting", "vsftpd refused a passive data connection that came from an address other than the control client's (pasv_promiscuous=NO): a NAT or proxy on the data path changed the source address"},
	{"I won't open a connection to", "Pure-FTPd refuses to connect to an address other than the control client's (anti-bounce protection)"},
	{"Unable to build data connection", "ProFTPD could not set up the data connection; its text says why"},
	{"Illegal EPRT command", "the server refuses the EPRT address"},
	{"Can't open passive connection", "the server could not open a passive listener"},
	{"Can't build data connection", "the server could not set up the data connection"},
}

// exhaustionTexts are replies that say the server's passive ports ran out.
var exhaustionTexts = []string{"vsf_sysutil_bind", "Try later", "data connection in use", "no more passive ports", "Address already in use"}

func matchRefusal(text string) (string, bool) {
	for _, r := range refusalTexts {
		if strings.Contains(strings.ToLower(text), strings.ToLower(r.phrase)) {
			return r.meaning, true
		}
	}
	return "", false
}

func exhaustionText(text string) bool {
	l := strings.ToLower(text)
	for _, p := range exhaustionTexts {
		if strings.Contains(l, strings.ToLower(p)) {
			return true
		}
	}
	return false
}

// serverRefusals reports transfers the server itself refused: a refused
// passive request, a refused PORT, or a 425 whose text says why.
func (d *diag) serverRefusals(s *ftpflow.Session) {
	for _, t := range s.Transfers {
		if _, done := d.explained[t]; done {
			continue
		}
		var reply *ftpflow.ReplyRecord
		var frame int
		switch {
		case t.Refusal != nil:
			reply, frame = &t.Refusal.Reply, t.Refusal.Frame
		case t.Offer != nil && t.Offer.Answer != nil && t.Offer.Answer.Code >= 400:
			reply, frame = t.Offer.Answer, t.Offer.Frame
		case t.Final() != nil && t.Final().Code == 425:
			if _, ok := matchRefusal(t.Final().Text); ok || exhaustionText(t.Final().Text) {
				reply, frame = t.Final(), t.Frame
			}
		}
		if reply == nil {
			continue
		}
		if exhaustionText(reply.Text) {
			d.exhaustionReply(s, t, reply)
			continue
		}
		meaning, known := matchRefusal(reply.Text)
		if !known {
			meaning = "the server refused the request"
		}
		ev := newEvidence(nil)
		ev.reply("server_reply", reply)
		ev.request(frame)
		ev.transfer(t)
		if f := t.Final(); f != nil && f != reply {
			ev.reply("reply", f)
		}
		expl := fmt.Sprintf("The server answered %d %q: %s. The data connection was therefore never attempted; the problem is the server's policy or state, not the network path.", reply.Code, reply.Text, meaning)
		rem := "Read the server's refusal: for a PORT address other than the client's, fix the client's NAT (or use passive mode) rather than loosening the server's anti-bounce check; for a passive data connection from another address, make the data path go through the same NAT as the control connection."
		id := d.add(Finding{Kind: KindServerRefusedEndpoint, Severity: Error, Session: s.ID, Transfer: t.ID,
			Summary:     fmt.Sprintf("server refused the data endpoint for %s: %d %s", describeTransfer(t), reply.Code, truncate(reply.Text, 70)),
			Explanation: expl, Remediation: rem}, ev)
		d.explain(id, t)
	}
	d.unusedRefusals(s)
}

// unusedRefusals reports refused passive requests and PORT commands that
// no transfer command followed: the client gave up at once.
func (d *diag) unusedRefusals(s *ftpflow.Session) {
	used := map[*ftpflow.Refusal]bool{}
	for _, t := range s.Transfers {
		if t.Refusal != nil {
			used[t.Refusal] = true
		}
	}
	for _, r := range s.Refusals {
		if used[r] {
			continue
		}
		t := &ftpflow.Transfer{Restart: -1, ExpectedSize: -1, Refusal: r}
		if exhaustionText(r.Reply.Text) {
			d.exhaustionReply(s, t, &r.Reply)
			continue
		}
		meaning, known := matchRefusal(r.Reply.Text)
		if !known {
			meaning = "the server could not or would not open a passive listener"
		}
		reply := r.Reply
		ev := newEvidence(map[string]any{"command": r.Command})
		ev.reply("server_reply", &reply)
		ev.request(r.Frame)
		d.add(Finding{Kind: KindServerRefusedEndpoint, Severity: Error, Session: s.ID,
			Summary:     fmt.Sprintf("server refused %s: %d %s", r.Command, reply.Code, truncate(reply.Text, 70)),
			Explanation: fmt.Sprintf("The client asked for a passive data endpoint with %s (frame %d) and the server answered %d %q: %s. No data connection could follow.", r.Command, r.Frame, reply.Code, reply.Text, meaning),
			Remediation: "Read the server's log for the reason; check its passive port range and its limits on sessions."}, ev)
	}
	for _, o := range s.Offers {
		if o.Passive() || len(o.Transfers) > 0 || o.Answer == nil || o.Answer.Code < 400 || d.offerExplained[o] {
			continue
		}
		meaning, known := matchRefusal(o.Answer.Text)
		if !known {
			meaning = "the server refused the announced endpoint"
		}
		ev := newEvidence(nil)
		ev.reply("server_reply", o.Answer)
		ev.offer(o)
		d.add(Finding{Kind: KindServerRefusedEndpoint, Severity: Error, Session: s.ID,
			Summary:     fmt.Sprintf("server refused %s %s: %d %s", o.Kind, o.Endpoint, o.Answer.Code, truncate(o.Answer.Text, 60)),
			Explanation: fmt.Sprintf("The client announced %s with %s (frame %d) and the server answered %d %q: %s. No data connection could follow.", o.Endpoint, o.Kind, o.Frame, o.Answer.Code, o.Answer.Text, meaning),
			Remediation: "Check the announced address and port; if it is not the client's own address, see the client's NAT; or use passive mode."}, ev)
	}
}
