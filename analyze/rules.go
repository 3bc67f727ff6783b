package analyze

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"ftpdiag/ftpflow"
)

// The finding kinds. They are stable: automation may depend on them.
const (
	KindPASVAddressMismatch   = "pasv_address_mismatch"
	KindPORTAddressMismatch   = "port_address_mismatch"
	KindDataSYNUnanswered     = "data_syn_unanswered"
	KindDataSYNRefused        = "data_syn_refused"
	KindServerRefusedEndpoint = "server_refused_data_endpoint"
	KindDataNotAttempted      = "data_not_attempted"
	KindDataFINWithoutData    = "data_fin_without_data"
	KindDataReset             = "data_reset"
	KindSlowDataConnect       = "slow_data_connect"
	KindTimeWaitReuse         = "timewait_tuple_reuse"
	KindPassivePortExhaustion = "passive_port_exhaustion"
	KindPassivePortRange      = "passive_port_range"
	KindMTUBlackhole          = "mtu_blackhole"
	KindControlEncrypted      = "control_channel_encrypted"
	KindNonstandardPort       = "nonstandard_control_port"
	KindTransferFailedReply   = "transfer_failed_reply"
	KindCaptureIncomplete     = "capture_incomplete"
	KindActiveSourcePort      = "active_mode_source_port"
)

// diag applies the rules. It receives each session from the tracker once
// the session is over (Settled) and once nothing that happens later can
// change what is concluded about it (Retired); the rules then run on that
// session in a fixed order, top to bottom: causes that explain a failed
// transfer come first and mark the transfer explained, so that later, more
// generic rules do not report it again. Rules about several sessions of one
// server read the compact records kept in servers.
type diag struct {
	opt     Options
	tracker *ftpflow.Tracker
	// emit receives each retired session with its findings.
	emit func(s *ftpflow.Session, findings []Finding)
	// nextID numbers findings across the whole analysis.
	nextID int
	// servers holds, per server address, what the cross-session rules
	// remember of settled sessions.
	servers map[netip.Addr]*serverRecords
	// settledSince counts sessions settled since the records were last
	// pruned.
	settledSince int

	// The state of the session being diagnosed.
	out       []Finding
	explained map[*ftpflow.Transfer]string // transfer -> ID of its root cause
	// offerExplained marks offers whose failed connections a finding
	// already reports (an address mismatch, a full passive port range).
	offerExplained map[*ftpflow.Offer]bool
	// exhaustion is the session's passive_port_exhaustion finding drawn
	// from the server's refusals: its index in out (-1: none yet) and its
	// evidence, which counts the refusals.
	exhaustion struct {
		index int
		ev    *evidence
	}
	// holders lists, for each refusal saying the passive ports ran out,
	// the passive offers (of any session) holding a port at that moment.
	holders map[*ftpflow.Refusal][]*offerRecord
}

func newDiag(opt Options, emit func(*ftpflow.Session, []Finding)) *diag {
	return &diag{opt: opt, emit: emit, servers: map[netip.Addr]*serverRecords{},
		explained: map[*ftpflow.Transfer]string{}, offerExplained: map[*ftpflow.Offer]bool{},
		holders: map[*ftpflow.Refusal][]*offerRecord{}}
}

// Settled implements ftpflow.SessionSink: it records what the rules about
// several sessions need of s.
func (d *diag) Settled(s *ftpflow.Session) {
	d.record(s)
	d.settledSince++
}

// Retired implements ftpflow.SessionSink: it applies the rules to s and
// hands the session and its findings on.
func (d *diag) Retired(s *ftpflow.Session) {
	d.out = nil
	clear(d.explained)
	clear(d.offerExplained)
	clear(d.holders)
	d.exhaustion.index, d.exhaustion.ev = -1, nil
	d.findHolders(s)
	d.markHeldOffers(s)
	d.outOfRange(s)
	d.pasvMismatch(s)
	d.portMismatch(s)
	d.serverRefusals(s)
	for _, t := range s.Transfers {
		d.transfer(s, t)
	}
	d.orphanOffers(s)
	d.encrypted(s)
	d.nonstandardPort(s)
	d.activeSourcePort(s)
	d.captureIncomplete(s)
	d.forget(s)
	d.emit(s, d.out)
}

// finish applies the rules that need the whole capture and returns their
// findings.
func (d *diag) finish() []Finding {
	d.out = nil
	d.portExhaustion()
	return d.out
}

// add appends a finding with its evidence and gives it its ID. A finding
// without a Filter of its own gets the one its evidence's Refs derive.
func (d *diag) add(f Finding, ev *evidence) string {
	d.nextID++
	f.ID = fmt.Sprintf("F%d", d.nextID)
	ev.fill(&f)
	d.out = append(d.out, f)
	return f.ID
}

// explain marks transfers as explained by finding id.
func (d *diag) explain(id string, ts ...*ftpflow.Transfer) {
	for _, t := range ts {
		if _, done := d.explained[t]; !done {
			d.explained[t] = id
		}
	}
}

// failed reports whether a transfer failed: the server said so, or its
// data connection failed.
func failed(t *ftpflow.Transfer) bool {
	return t.Status == ftpflow.StatusFailed && dataProblemReply(t.Final()) || t.Outcome.Failed()
}

// dataProblemReply reports whether a final reply points at the data
// connection (425, 426, 451) rather than at the file or the login.
func dataProblemReply(r *ftpflow.ReplyRecord) bool {
	return r != nil && (r.Code == 425 || r.Code == 426 || r.Code == 451)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// finalReply cites a transfer's final reply, if it has one.
func finalReply(ev *evidence, t *ftpflow.Transfer) {
	if f := t.Final(); f != nil {
		ev.reply("reply", f)
	}
}

// expectedSize records the size the server announced for a transfer, if
// it announced one.
func expectedSize(ev *evidence, t *ftpflow.Transfer) {
	if t.ExpectedSize > 0 {
		ev.set("expected_size", t.ExpectedSize)
	}
}

func describeTransfer(t *ftpflow.Transfer) string {
	if t.Command == "" {
		return "the transfer the client was about to request"
	}
	if t.Arg == "" {
		return t.Command
	}
	return t.Command + " " + t.Arg
}

// transfer applies the per-transfer rules in order of specificity.
func (d *diag) transfer(s *ftpflow.Session, t *ftpflow.Transfer) {
	c := t.Data
	if c != nil && c.Previous != nil {
		d.timeWait(s, t, c)
	}
	if c == nil {
		d.timeWaitBlocked(s, t)
	}
	if c != nil {
		d.mtu(s, t, c)
	}
	if _, done := d.explained[t]; !done && commandRefused(t) {
		// The server refused the command itself (no such file, no
		// permission): an empty data connection, closed or reset, is its
		// consequence, not a network failure.
		d.failedReply(s, t)
		return
	}
	if _, done := d.explained[t]; !done {
		switch t.Outcome {
		case ftpflow.OutcomeSYNUnanswered:
			d.synUnanswered(s, t, c)
		case ftpflow.OutcomeSYNRefused:
			d.synRefused(s, t, c)
		case ftpflow.OutcomeClosedWithoutData:
			d.finWithoutData(s, t, c)
		case ftpflow.OutcomeReset:
			d.reset(s, t, c)
		case ftpflow.OutcomeNotAttempted:
			d.notAttempted(s, t)
		case ftpflow.OutcomeIncomplete:
			d.brokenOutOfSight(s, t, c)
		}
	}
	if _, done := d.explained[t]; !done && t.Status == ftpflow.StatusFailed {
		d.failedReply(s, t)
	}
	if _, done := d.explained[t]; !done && t.Status == ftpflow.StatusOK {
		d.okReplyFailure(s, t)
	}
	if c != nil && c.Established() && !failed(t) {
		d.slowConnect(s, t, c)
	}
}

// orphanOffers reports announcements whose data connection failed before
// the client sent any transfer command: many clients (curl, Python's
// ftplib) connect first and give up when that fails, so no 425 follows.
func (d *diag) orphanOffers(s *ftpflow.Session) {
	for i, o := range s.Offers {
		if len(o.Transfers) > 0 || d.offerExplained[o] {
			continue
		}
		if len(o.Conns) == 0 {
			if o.Passive() && i == len(s.Offers)-1 && s.Ended().Seen() && !transferAfter(s, o) {
				d.abandonedOffer(s, o)
			}
			continue
		}
		c := o.Conns[len(o.Conns)-1]
		if !c.Handshake || c.SYNACK.Seen() {
			continue
		}
		t := &ftpflow.Transfer{Offer: o, Mode: ftpflow.ModeActive, Data: c, Attempts: o.Conns, Restart: -1, ExpectedSize: -1}
		if o.Passive() {
			t.Mode = ftpflow.ModePassive
		}
		if c.Reset != nil && c.Reset.From == ftpflow.Server {
			d.synRefused(s, t, c)
		} else {
			d.synUnanswered(s, t, c)
		}
	}
}

// transferAfter reports whether any transfer command followed an offer.
func transferAfter(s *ftpflow.Session, o *ftpflow.Offer) bool {
	for _, t := range s.Transfers {
		if t.Time.After(o.Time) {
			return true
		}
	}
	return false
}

// abandonedOffer reports a passive announcement after which nothing
// happened: no connection towards it in the capture, no transfer command,
// and the client quit. Clients that connect before sending the command do
// exactly this when the connection fails.
func (d *diag) abandonedOffer(s *ftpflow.Session, o *ftpflow.Offer) {
	v := s.Control.Locate().Side
	ev := newEvidence(map[string]any{"vantage": v.String()})
	ev.offer(o)
	ev.frame("session_end_frame", s.Ended().Frame)
	expl := fmt.Sprintf("%s announced %s, but the capture holds no connection towards it, no transfer command followed, and the session ended (frame %d). "+
		"Clients such as curl and Python's ftplib open the data connection before sending RETR or LIST, and give up without telling the server when it fails, so the server never reports an error. ",
		offerAnnouncer(o), o.Endpoint, s.Ended().Frame)
	switch v {
	case ftpflow.VantageServer:
		expl += "The capture was taken near the server, so the client's SYNs, if any, were lost before reaching it: a firewall in between dropping the passive port range is the usual cause."
	case ftpflow.VantageClient:
		expl += "The capture was taken near the client and shows no SYN: the client did not try, perhaps because the announced address was unacceptable to it."
	default:
		expl += "From this capture alone it cannot be told whether the client tried: a capture at the client would show its SYNs."
	}
	conf := Possible
	switch v {
	case ftpflow.VantageClient:
		conf = Certain
	case ftpflow.VantageServer:
		conf = Likely
	}
	d.add(Finding{Kind: KindDataNotAttempted, Severity: Warning, Confidence: conf, Session: s.ID,
		Summary:     fmt.Sprintf("no connection to the announced %s reached the capture, and the session ended without a transfer", o.Endpoint),
		Explanation: expl,
		Remediation: "Capture at the client too; check the firewalls between client and server for the passive port range, and the client's own log or verbose output."}, ev)
}

// commandRefused reports whether the final reply refuses the transfer
// command itself (a 5xx other than about the data connection) and no data
// moved.
func commandRefused(t *ftpflow.Transfer) bool {
	f := t.Final()
	if f == nil || f.Code < 500 {
		return false
	}
	c := t.Data
	return c == nil || c.Bytes[t.DataSender()] == 0
}

// dataPath names the two ends of a transfer's data connection in FTP
// terms, for explanations.
func dataPath(t *ftpflow.Transfer) (connector, listener string) {
	if t.Mode == ftpflow.ModeActive {
		return "the FTP server", "the FTP client"
	}
	return "the FTP client", "the FTP server"
}

func (d *diag) synUnanswered(s *ftpflow.Session, t *ftpflow.Transfer, c *ftpflow.Conn) {
	first, last := c.SYNs[0], c.SYNs[len(c.SYNs)-1]
	span := last.Time.Sub(first.Time)
	connector, listener := dataPath(t)
	ev := newEvidence(map[string]any{
		"syn_count": c.SYNCount, "first_syn": stamp(first.Time), "last_syn": stamp(last.Time),
		"retry_span_seconds": span.Seconds(), "vantage": s.Control.Locate().Side.String(),
	})
	ev.conn(c)
	ev.syns(c)
	finalReply(ev, t)
	ev.transfer(t)
	summary := fmt.Sprintf("%d SYN%s from %s to %s over %s, never answered; %s failed",
		c.SYNCount, plural(c.SYNCount), c.Client, c.Server, span.Round(time.Millisecond), describeTransfer(t))
	if t.Command == "" {
		summary = fmt.Sprintf("%d SYN%s from %s to %s over %s, never answered; the client gave up before asking for a transfer",
			c.SYNCount, plural(c.SYNCount), c.Client, c.Server, span.Round(time.Millisecond))
	}
	expl := fmt.Sprintf("For %s the data connection is opened by %s towards %s at %s. "+
		"TCP sent its SYN and, getting no answer, retransmitted it with growing back-off (1 s, 2 s, 4 s... on Linux). "+
		"Silence, rather than a RST, is the signature of a firewall rule that drops the packets, or of an address that is not routed to %s.",
		describeTransfer(t), connector, listener, c.Server, listener)
	if t.Mode == ftpflow.ModeActive {
		expl += " In active mode the FTP server connects back to the client; firewalls and NAT routers in front of clients usually drop such unsolicited incoming connections unless an FTP helper opened a pinhole for the PORT it saw."
	}
	if v := s.Control.Locate().Side; v == ftpflow.VantageServer && t.Mode == ftpflow.ModePassive {
		expl += " This capture was taken near the server, yet shows the client's SYNs, so they reached the server's network: look at the server host's own firewall."
	}
	rem := "Open the data port range in every firewall on the path (for passive mode: the server's pasv_min_port..pasv_max_port, e.g. vsftpd pasv_min_port/pasv_max_port, ProFTPD PassivePorts, Pure-FTPd -p), or load an FTP helper (nf_conntrack_ftp) where the control channel is clear text on port 21."
	if t.Mode == ftpflow.ModeActive {
		rem = "Use passive mode (the client connects out, which client-side firewalls allow), or allow incoming connections from the server to the client's PORT range; behind NAT, enable the FTP helper for the control port."
	}
	id := d.add(Finding{Kind: KindDataSYNUnanswered, Severity: Error, Session: s.ID, Transfer: t.ID,
		Summary: summary, Explanation: expl, Remediation: rem}, ev)
	d.explain(id, t)
}

func (d *diag) synRefused(s *ftpflow.Session, t *ftpflow.Transfer, c *ftpflow.Conn) {
	_, listener := dataPath(t)
	ev := newEvidence(map[string]any{
		"rst_time": stamp(c.Reset.Time), "vantage": s.Control.Locate().Side.String(),
	})
	ev.conn(c)
	ev.syns(c)
	ev.frame("rst_frame", c.Reset.Frame)
	finalReply(ev, t)
	ev.transfer(t)
	summary := fmt.Sprintf("connection to %s refused with RST (frame %d); %s failed", c.Server, c.Reset.Frame, describeTransfer(t))
	if t.Command == "" {
		summary = fmt.Sprintf("connection to %s refused with RST (frame %d); the client gave up before asking for a transfer", c.Server, c.Reset.Frame)
	}
	expl := fmt.Sprintf("The SYN towards %s at %s was answered by a RST: either nothing listens on that port (the announcement is stale, or %s closed its listener), or a firewall rule rejects the connection (iptables REJECT --reject-with tcp-reset). "+
		"A RST answers at once, where a dropping firewall leaves the SYN unanswered.", listener, c.Server, listener)
	rem := "Check that the data port is open in the firewall in front of " + listener + " (a REJECT rule answers with RST), and that the announced endpoint is really the listener's: a NAT device or proxy may announce a port it does not forward."
	id := d.add(Finding{Kind: KindDataSYNRefused, Severity: Error, Session: s.ID, Transfer: t.ID,
		Summary: summary, Explanation: expl, Remediation: rem}, ev)
	d.explain(id, t)
}

func (d *diag) finWithoutData(s *ftpflow.Session, t *ftpflow.Transfer, c *ftpflow.Conn) {
	sender := t.DataSender()
	ev := newEvidence(map[string]any{"bytes": c.Bytes[sender]})
	ev.conn(c)
	ev.frame("fin_frame", c.FIN[sender].Frame)
	expectedSize(ev, t)
	finalReply(ev, t)
	ev.transfer(t)
	why := "the control channel does not confirm an empty transfer"
	if t.ExpectedSize > 0 {
		why = fmt.Sprintf("the server had announced %d bytes", t.ExpectedSize)
	}
	summary := fmt.Sprintf("data connection %s > %s opened and closed (FIN, frame %d) without data; %s", c.Client, c.Server, c.FIN[sender].Frame, why)
	carried := "carried no payload"
	if n := c.Bytes[sender]; n > 0 {
		summary = fmt.Sprintf("data connection %s > %s closed (FIN, frame %d) after %d bytes; %s", c.Client, c.Server, c.FIN[sender].Frame, n, why)
		carried = fmt.Sprintf("carried only %d bytes", n)
	}
	expl := "The data connection was established and then closed normally with a FIN, but " + carried + ", although more was expected for " + describeTransfer(t) + ". " +
		"A legitimately empty file or listing looks the same on the wire, which is why the control channel decides: a SIZE of 0, a 150 reply announcing 0 bytes or a 226 after an empty listing make it normal; here " + why + ". " +
		"Common causes: the server could not read the file after opening the connection (permissions, a file removed or truncated meanwhile), a proxy or security device that closes the data connection, or a server bug."
	rem := "Read the server's log for this transfer; check the file's permissions and size on the server; retry the transfer directly, without any FTP proxy or inspection device in between."
	sev := Error
	if t.Aborted {
		sev = Info
		expl += " Here the client sent ABOR during the transfer: it cancelled the transfer itself, and the server closed the data connection as asked."
		rem = "Nothing failed in the network: the client or its user cancelled the transfer. If it was cancelled for being slow, look at the data path's throughput."
		ev.set("aborted_by_client", true)
	}
	id := d.add(Finding{Kind: KindDataFINWithoutData, Severity: sev, Session: s.ID, Transfer: t.ID,
		Summary: summary, Explanation: expl, Remediation: rem}, ev)
	d.explain(id, t)
}

func (d *diag) reset(s *ftpflow.Session, t *ftpflow.Transfer, c *ftpflow.Conn) {
	sender := t.DataSender()
	from := "the data receiver"
	if c.Reset.From == sender {
		from = "the data sender"
	}
	ev := newEvidence(map[string]any{
		"rst_time": stamp(c.Reset.Time), "rst_from": c.Reset.From.String(),
		"bytes_before_rst": c.Bytes[sender],
	})
	ev.conn(c)
	ev.frame("rst_frame", c.Reset.Frame)
	expectedSize(ev, t)
	if t.Aborted {
		ev.set("aborted_by_client", true)
	}
	finalReply(ev, t)
	ev.transfer(t)
	summary := fmt.Sprintf("data connection reset by %s (%s, frame %d) after %d bytes", c.Reset.From, from, c.Reset.Frame, c.Bytes[sender])
	expl := "A RST ended the data connection in the middle of " + describeTransfer(t) + ": the connection was torn down abruptly instead of being closed with FINs after the last byte. " +
		"The server then usually reports 426 (connection closed; transfer aborted) or 451."
	if t.Aborted {
		expl += " The client sent ABOR during the transfer: a user or program cancelled it, and the reset is the expected consequence."
	} else {
		expl += " Causes: a process killed or crashing on either side, a firewall or IPS that resets long or suspicious connections, an idle timeout in a NAT or firewall, or a disk full on the receiver."
	}
	rem := "Look at the side that sent the RST (" + c.Reset.From.String() + " of the data connection, " + c.Reset.From.String() + " address " + endpointOf(c, c.Reset.From).String() + "): its logs, resource limits and any security device next to it."
	sev := Error
	if t.Aborted {
		sev = Info
		summary = "the client cancelled " + describeTransfer(t) + " (ABOR): " + summary
		rem = "Nothing failed in the network: the client or its user cancelled the transfer. If it was cancelled for being slow, look at the data path's throughput."
	}
	id := d.add(Finding{Kind: KindDataReset, Severity: sev, Session: s.ID, Transfer: t.ID,
		Summary: summary, Explanation: expl, Remediation: rem}, ev)
	d.explain(id, t)
}

func endpointOf(c *ftpflow.Conn, side ftpflow.Side) netip.AddrPort {
	if side == ftpflow.Client {
		return c.Client
	}
	return c.Server
}

func (d *diag) notAttempted(s *ftpflow.Session, t *ftpflow.Transfer) {
	o := t.Offer
	f := t.Final()
	if o == nil || (f != nil && !dataProblemReply(f)) {
		return // nothing announced, or the server refused the file itself: failedReply covers it
	}
	connector, listener := dataPath(t)
	v := s.Control.Locate().Side
	ev := newEvidence(map[string]any{
		"vantage": v.String(), "control_client": s.Client.String(), "control_server": s.Server.String(),
	})
	ev.transfer(t)
	finalReply(ev, t)
	summary := fmt.Sprintf("no connection to the announced %s appears in the capture; %s failed", o.Endpoint, describeTransfer(t))
	expl := fmt.Sprintf("%s announced %s for %s, so %s should have opened a TCP connection to it, but the capture holds no SYN towards it (nor towards %s's control address with that port). ",
		offerAnnouncer(o), o.Endpoint, describeTransfer(t), connector, listener)
	switch {
	case v == ftpflow.VantageServer && t.Mode == ftpflow.ModePassive:
		expl += "The capture was taken near the server, so the client's SYN, if it was sent, was lost before it reached the server: dropped by a firewall or sent to an address that does not lead here."
	case v == ftpflow.VantageClient && t.Mode == ftpflow.ModeActive:
		expl += "The capture was taken near the client, so the server's SYN, if it was sent, never reached the client: dropped by a firewall or NAT router in front of the client, or sent to an address the client does not own."
	case serverTriedConnect(t):
		expl += activeTriedWords(t) + " This capture does not show the SYN: it left by a path or an interface the capture did not see."
	case v == ftpflow.VantageClient:
		expl += "The capture was taken near the client, so the client did not even try: it may have rejected the announced endpoint, or given up before connecting."
	case v == ftpflow.VantageServer:
		expl += "The capture was taken near the server, so the server did not even try: it may have refused the PORT address or failed to create the connection."
	default:
		expl += "From this capture alone it cannot be told whether the SYN was never sent or was lost on the way: a capture at the other end would tell."
	}
	rem := "Capture at both ends of the path at the same time to see where the SYN disappears; check the firewalls between them for the data port, and the client's log for why it did not connect."
	if t.Mode == ftpflow.ModeActive {
		rem = activeConnectRemedy
	}
	conf := Certain
	if v == ftpflow.VantageUnknown || v == ftpflow.VantageBetween {
		conf = Likely // whether the SYN was sent, and lost where, is not seen
	}
	id := d.add(Finding{Kind: KindDataNotAttempted, Severity: Error, Confidence: conf, Session: s.ID, Transfer: t.ID,
		Summary: summary, Explanation: expl, Remediation: rem}, ev)
	d.explain(id, t)
}

func offerAnnouncer(o *ftpflow.Offer) string {
	if o.Passive() {
		return fmt.Sprintf("The server's %d reply (frame %d)", passiveCode(o.Kind), o.Frame)
	}
	return fmt.Sprintf("The client's %s command (frame %d)", o.Kind, o.Frame)
}

func passiveCode(k ftpflow.OfferKind) int {
	switch k {
	case ftpflow.OfferEPSV:
		return 229
	case ftpflow.OfferLPSV:
		return 228
	}
	return 227
}

func (d *diag) failedReply(s *ftpflow.Session, t *ftpflow.Transfer) {
	f := t.Final()
	ev := newEvidence(nil)
	ev.reply("reply", f)
	ev.transfer(t)
	sev := Info
	expl := fmt.Sprintf("The server answered %s with %d %q. ", describeTransfer(t), f.Code, f.Text)
	rem := "Nothing to fix in the network: check the file name, permissions and the server's log."
	switch {
	case f.Code == 425:
		sev = Error
		expl += "425 means the server could not open (or accept) the data connection. No other evidence in this capture pins down why."
		rem = "Capture at both ends, and check firewalls and NAT for the data ports and the server's log."
		if t.Mode == ftpflow.ModeActive && t.Offer != nil {
			expl += " In active mode the server is the one that connects."
			if serverTriedConnect(t) {
				expl += " " + activeTriedWords(t)
			}
			rem = activeConnectRemedy
		}
		if t.Offer == nil {
			expl = fmt.Sprintf("The server answered %s with 425 %q: no PORT, EPRT, PASV or EPSV preceded the command in this capture, so the server had no data endpoint to use.", describeTransfer(t), f.Text)
			rem = "The client must send PASV/EPSV (or PORT/EPRT) before each transfer command; if it did so before the capture started, the capture misses it."
		}
	case tlsDataRefusal(f.Code):
		sev = Error
		expl, rem = tlsDataReplyWords(expl, f)
	case f.Code == 426 || f.Code == 451:
		sev = Error
		expl += "The transfer started but was aborted: the data connection closed or broke before the end, or the server hit a local error."
		rem = "Look at the data connection in the capture and at the server's log; repeated failures on large files point at a path or firewall problem."
	default:
		expl += "This reply is about the command itself (file, permissions, login), not about the data connection."
	}
	id := d.add(Finding{Kind: KindTransferFailedReply, Severity: sev, Session: s.ID, Transfer: t.ID,
		Summary: fmt.Sprintf("%s answered %d %s", describeTransfer(t), f.Code, truncate(f.Text, 80)), Explanation: expl, Remediation: rem}, ev)
	d.explain(id, t)
}

// tlsDataRefusal reports whether a reply code to a transfer command is
// about the protection of its data connection (RFC 2228, 4217), or, for
// 522, its TLS failing (vsftpd's "522 SSL connection failed").
func tlsDataRefusal(code int) bool {
	switch code {
	case 521, 522, 534, 536:
		return true
	}
	return false
}

// tlsDataReplyWords explains a reply for which tlsDataRefusal holds,
// after expl (which quotes it), and says what to do.
func tlsDataReplyWords(expl string, f *ftpflow.ReplyRecord) (string, string) {
	text := strings.ToLower(f.Text)
	switch {
	case strings.Contains(text, "reuse"):
		return expl + "The server requires the data connection's TLS to resume the control connection's TLS session (vsftpd require_ssl_reuse=YES, ProFTPD TLSOptions without NoSessionReuseRequired): it proves that the data connection comes from the same client. This client opened the data connection's TLS with a new session, so the server closed it and refused the transfer.",
			"Make the client reuse the control connection's TLS session on its data connections (curl and lftp do; Python's ftplib needs an FTP_TLS subclass that passes session=self.sock.session to wrap_socket), or, if the weaker check is acceptable, set require_ssl_reuse=NO on the server."
	case f.Code == 522:
		return expl + "The data connection's TLS failed on the server's side: its handshake did not complete (a certificate, protocol version or cipher the server refused, or a session it would not resume).",
			"Read the server's log for the TLS error on the data connection, and compare the client's TLS settings for data connections with the server's (session reuse, versions, ciphers)."
	}
	return expl + "The server refused the protection level of the data connection (PROT: 521 and 536 for a level it does not support or allow, 534 for its policy): the data would not travel as it requires.",
		"Send PBSZ 0 and PROT P after AUTH TLS when the server requires encrypted data (or PROT C where it allows clear data), as its configuration asks."
}

// brokenOutOfSight reports a data connection that carried data, then
// neither closed nor reset in the capture, while the server reported the
// transfer broken: something between the capture point and the server cut
// it, and its RST or FIN never came this way.
func (d *diag) brokenOutOfSight(s *ftpflow.Session, t *ftpflow.Transfer, c *ftpflow.Conn) {
	f := t.Final()
	if c == nil || f == nil || !dataProblemReply(f) || !c.Established() {
		return
	}
	sender := t.DataSender()
	ev := newEvidence(map[string]any{"bytes_before_silence": c.Bytes[sender]})
	ev.conn(c)
	ev.frame("last_data_frame", c.LastData.Frame)
	ev.reply("reply", f)
	expectedSize(ev, t)
	ev.transfer(t)
	id := d.add(Finding{Kind: KindDataReset, Severity: Error, Session: s.ID, Transfer: t.ID,
		Summary: fmt.Sprintf("data stopped after %d bytes with no FIN or RST in the capture; the server says %d %s", c.Bytes[sender], f.Code, truncate(f.Text, 50)),
		Explanation: fmt.Sprintf("The data connection carried %d bytes, then fell silent: this capture holds neither a FIN nor a RST for it, yet the server reported %d %q, so on its side the connection broke. "+
			"A device between this capture point and the server (a firewall, an IPS, a NAT with a short timeout) reset or dropped the connection, and its RST went only one way. A capture on the server's side would show it.", c.Bytes[sender], f.Code, f.Text),
		Remediation: "Look at the firewalls and other devices between the two hosts for a rule or a timeout that resets long transfers; capture at the server to see the RST."}, ev)
	d.explain(id, t)
}

// slowConnectDelay is the SYN-to-SYN-ACK delay reported as slow.
const slowConnectDelay = time.Second

func (d *diag) slowConnect(s *ftpflow.Session, t *ftpflow.Transfer, c *ftpflow.Conn) {
	if !c.Handshake || len(c.SYNs) == 0 || !c.SYNACK.Seen() {
		return
	}
	delay := c.SYNACK.Time.Sub(c.SYNs[0].Time)
	if c.SYNCount < 2 && delay < slowConnectDelay {
		return
	}
	ev := newEvidence(map[string]any{"syn_count": c.SYNCount, "connect_seconds": delay.Seconds()})
	ev.conn(c)
	ev.syns(c)
	ev.frame("synack_frame", c.SYNACK.Frame)
	ev.transfer(t)
	d.add(Finding{Kind: KindSlowDataConnect, Severity: Warning, Session: s.ID, Transfer: t.ID,
		Summary:     fmt.Sprintf("data connection needed %d SYN%s and %s to open", c.SYNCount, plural(c.SYNCount), delay.Round(time.Millisecond)),
		Explanation: "The data connection opened, but only after its first SYN went unanswered and TCP retransmitted it (or after a long delay). Something on the path drops or delays new connections: a firewall rate limit, a busy server backlog, a lossy link. Next time it may fail outright.",
		Remediation: "Check the listener's accept backlog and SYN rate limits in firewalls on the path; if it happens on every transfer, look for loss on the link."}, ev)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
