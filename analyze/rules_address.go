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
		func(a netip.Addr, offers []*ftpflow.Offer) { d.pasvAddress(s, a, offers) })
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

// portMismatch reports active announcements (PORT, EPRT, LPRT) of an
// address other than the client's, one finding per announced address.
func (d *diag) portMismatch(s *ftpflow.Session) {
	forEachAddress(s.Offers, func(o *ftpflow.Offer) bool {
		a := o.Endpoint.Addr()
		return !o.Passive() && (a != s.Client.Addr() || unroutable(a) && !unroutable(s.Server.Addr()))
	}, func(a netip.Addr, offers []*ftpflow.Offer) { d.portAddress(s, a, offers) })
}

// refusalTexts are phrases with which real servers refuse a data endpoint or
// connection, mapped to what they mean.
var refusalTexts = []struct{ phrase, meaning string }{
	{"Illegal PORT command", "the server refuses the PORT endpoint"},
	{"Security: Bad IP connecting", "vsftpd refused a passive data connection that came from an address other than the control client's (pasv_promiscuous=NO): a NAT or proxy on the data path changed the source address"},
	{"I won't open a connection to", "Pure-FTPd refuses to connect to an address other than the control client's (anti-bounce protection)"},
	{"Unable to build data connection", "ProFTPD could not set up the data connection; its text says why"},
	{"Illegal EPRT command", "the server refuses the EPRT address"},
	{"Can't open passive connection", "the server could not open a passive listener"},
	{"Can't build data connection", "the server could not set up the data connection"},
}

// exhaustionTexts are replies that say the server's passive ports ran out.
var exhaustionTexts = []string{"vsf_sysutil_bind", "Try later", "data connection in use", "no more passive ports", "Address already in use"}

// attemptFailed reports whether the transfer's data connection was
// attempted and never established.
func attemptFailed(t *ftpflow.Transfer) bool {
	if len(t.Attempts) == 0 {
		return false
	}
	for _, c := range t.Attempts {
		if c.Established() {
			return false
		}
	}
	return true
}

// serverNames are what greetings call the servers whose refusals the
// explanations know.
var serverNames = []struct{ match, name string }{
	{"vsftpd", "vsftpd"}, {"proftpd", "ProFTPD"}, {"pure-ftpd", "Pure-FTPd"},
	{"wu-", "wu-ftpd"}, {"wu ftp", "wu-ftpd"}, {"filezilla", "FileZilla Server"}, {"microsoft ftp", "IIS"},
}

// serverName names the server from its greeting, "" when it does not say.
func serverName(s *ftpflow.Session) string {
	if s.Greeting == nil {
		return ""
	}
	low := strings.ToLower(s.Greeting.Text)
	for _, n := range serverNames {
		if strings.Contains(low, n.match) {
			return n.name
		}
	}
	return ""
}

// portRefusalMeaning explains a refused PORT/EPRT from what it named:
// port 0, a privileged port of the client's own address (wu-ftpd, ProFTPD
// and vsftpd refuse ports below 1024, as a bounce-attack guard, RFC 2577),
// or an address other than the control connection's client.
func portRefusalMeaning(s *ftpflow.Session, o *ftpflow.Offer) string {
	who := serverName(s)
	if who == "" {
		who = "the server"
	}
	p, a := o.Endpoint.Port(), o.Endpoint.Addr()
	switch {
	case p == 0:
		return fmt.Sprintf("%s names port 0, which no server connects to", o.Kind)
	case a != s.Client.Addr():
		what := map[string]string{"vsftpd": " (port_promiscuous=NO)", "ProFTPD": " (AllowForeignAddress off)"}[who]
		return fmt.Sprintf("%s refuses a %s address (%s) other than the control connection's client (%s)%s, the guard against bounce attacks (RFC 2577)", who, o.Kind, a, s.Client.Addr(), what)
	case p < 1024:
		return fmt.Sprintf("%s names port %d of the client's own address, a privileged port (below 1024), which %s refuses as a guard against bounce attacks on well-known services (RFC 2577)", o.Kind, p, who)
	}
	return fmt.Sprintf("%s refused the %s endpoint %s, which is the client's own address and an ordinary port: its log says why", who, o.Kind, o.Endpoint)
}

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
		case t.Final() != nil && t.Final().Code == 425 && !attemptFailed(t) && !serverTriedConnect(t):
			// After a data SYN that was refused or unanswered, the 425
			// reports how that attempt ended ("Unable to build data
			// connection: Connection refused"): the connection's own
			// rules explain it, not a refusal before any attempt. So does
			// an active-mode 425 that says the server's connect failed,
			// even when the capture missed its SYNs (another path, the
			// other leg of a NAT).
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
		if o := t.Offer; o != nil && !o.Passive() && reply == o.Answer {
			meaning = portRefusalMeaning(s, o)
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
	d.unusedPORTRefusals(s)
	d.refusedInvalidPORTs(s)
}

// refusedInvalidPORTs reports the active announcements that could not be
// read (port 0, a malformed address) and that the server refused: no data
// connection can follow, and the reply alone does not say why.
func (d *diag) refusedInvalidPORTs(s *ftpflow.Session) {
	for _, b := range s.InvalidOffers {
		if b.Kind.Passive() || b.Answer == nil || b.Answer.Code < 400 {
			continue
		}
		ev := newEvidence(map[string]any{"command": b.Kind.String() + " " + b.Line, "parse_error": b.Err})
		ev.reply("server_reply", b.Answer)
		ev.request(b.Frame)
		why := fmt.Sprintf("it cannot be read as an endpoint (%s)", b.Err)
		if strings.HasSuffix(b.Err, "port 0") {
			why = "it names port 0, which no server connects to"
		}
		d.add(Finding{Kind: KindServerRefusedEndpoint, Severity: Error, Session: s.ID,
			Summary: fmt.Sprintf("server refused %s %s: %d %s", b.Kind, truncate(b.Line, 40), b.Answer.Code, truncate(b.Answer.Text, 60)),
			Explanation: fmt.Sprintf("The client sent %s %s (frame %d), and %s; the server answered %d %q. No data connection could follow.",
				b.Kind, b.Line, b.Frame, why, b.Answer.Code, b.Answer.Text),
			Remediation: "The client sent an endpoint no server accepts: check the client (or whatever rewrites its commands, such as an FTP helper on a NAT router); or use passive mode."}, ev)
	}
}

// unusedPORTRefusals reports refused active announcements that no transfer
// command used and no address finding already reports.
func (d *diag) unusedPORTRefusals(s *ftpflow.Session) {
	for _, o := range s.Offers {
		if o.Passive() || len(o.Transfers) > 0 || o.Answer == nil || o.Answer.Code < 400 || d.offerExplained[o] {
			continue
		}
		meaning := portRefusalMeaning(s, o)
		ev := newEvidence(nil)
		ev.reply("server_reply", o.Answer)
		ev.offer(o)
		d.add(Finding{Kind: KindServerRefusedEndpoint, Severity: Error, Session: s.ID,
			Summary:     fmt.Sprintf("server refused %s %s: %d %s", o.Kind, o.Endpoint, o.Answer.Code, truncate(o.Answer.Text, 60)),
			Explanation: fmt.Sprintf("The client announced %s with %s (frame %d) and the server answered %d %q: %s. No data connection could follow.", o.Endpoint, o.Kind, o.Frame, o.Answer.Code, o.Answer.Text, meaning),
			Remediation: "Check the announced address and port; if it is not the client's own address, see the client's NAT; or use passive mode."}, ev)
	}
}
