package analyze

import (
	"fmt"
	"strings"
	"time"

	"ftpdiag/ftpflow"
)

// The rules about the data connections of an encrypted session (FTPS
// without the keys): they are paired with the session by hosts and timing
// (ftpflow.EncryptedConn), so each finding says how sure that pairing is.

const (
	// maxListedConns bounds the connections a finding lists one by one
	// (its evidence counts the rest).
	maxListedConns = 16
	// sessionEndWindow is how soon after a data connection whose TLS
	// ended without data the server must close the control connection
	// for that to count as the server giving up the session (vsftpd does
	// so at once after its 522).
	sessionEndWindow = 3 * time.Second
)

// PairingConfidence says how sure the pairing of c with its encrypted
// session is: Likely when its timing fits the control channel's TLS
// records (a reply, then at once the client's SYN; a command, then the
// server's SYN), Possible on hosts and time alone.
func PairingConfidence(c *ftpflow.Conn) Confidence {
	if e := c.Encrypted(); e != nil && e.Rhythm {
		return Likely
	}
	return Possible
}

// tlsAlertNames names the TLS alerts a failed handshake shows most
// (RFC 8446, 6).
var tlsAlertNames = map[uint8]string{
	0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 40: "handshake_failure",
	42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked", 45: "certificate_expired",
	46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied",
	50: "decode_error", 51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security",
	80: "internal_error", 86: "inappropriate_fallback", 90: "user_canceled", 109: "missing_extension",
	110: "unsupported_extension", 112: "unrecognized_name", 116: "certificate_required", 120: "no_application_protocol",
}

// AlertWords spells a TLS alert: "fatal handshake_failure (40)".
func AlertWords(a *ftpflow.TLSAlert) string {
	level := fmt.Sprintf("level %d", a.Level)
	switch a.Level {
	case 1:
		level = "warning"
	case 2:
		level = "fatal"
	}
	name, ok := tlsAlertNames[a.Description]
	if !ok {
		name = "alert"
	}
	return fmt.Sprintf("%s %s (%d)", level, name, a.Description)
}

// encFailure is one kind of failure of an encrypted session's data
// connections, in one direction: what one finding reports.
type encFailure struct {
	kind  string
	mode  ftpflow.Mode
	conns []*ftpflow.Conn
}

// encryptedFailures reports the failed data connections of an encrypted
// session, one finding per kind of failure and direction (SYNs
// unanswered, refused, TLS ended before any data, reset), each listing its
// connections: a session can pair hundreds, and one cause explains them.
func (d *diag) encryptedFailures(s *ftpflow.Session) (failed int) {
	var groups []*encFailure
	for _, c := range s.EncryptedData {
		kind := encryptedFailureKind(c)
		if kind == "" {
			continue
		}
		failed++
		mode := ftpflow.ModePassive
		if e := c.Encrypted(); e != nil {
			mode = e.Mode
		}
		g := findGroup(groups, kind, mode)
		if g == nil {
			g = &encFailure{kind: kind, mode: mode}
			groups = append(groups, g)
		}
		g.conns = append(g.conns, c)
	}
	for _, g := range groups {
		switch g.kind {
		case KindDataSYNUnanswered, KindDataSYNRefused:
			d.encryptedSYNFailure(s, g)
		case KindDataFINWithoutData:
			d.encryptedTLSFailure(s, g)
		case KindDataReset:
			d.encryptedReset(s, g)
		}
	}
	return failed
}

func findGroup(groups []*encFailure, kind string, mode ftpflow.Mode) *encFailure {
	for _, g := range groups {
		if g.kind == kind && g.mode == mode {
			return g
		}
	}
	return nil
}

// encryptedFailureKind says which finding kind reports c, a connection
// paired with an encrypted session, or "" when it did not fail (or its
// failure cannot be told: an empty connection whose TLS was resumed looks
// like an empty listing).
func encryptedFailureKind(c *ftpflow.Conn) string {
	o := c.EncryptedOutcome()
	switch o {
	case ftpflow.OutcomeSYNUnanswered:
		return KindDataSYNUnanswered
	case ftpflow.OutcomeSYNRefused:
		return KindDataSYNRefused
	}
	e := c.Encrypted()
	if e == nil {
		return ""
	}
	switch e.TLS.End(c) {
	case ftpflow.TLSEndAlert, ftpflow.TLSEndHandshake:
		return KindDataFINWithoutData
	case ftpflow.TLSEndNoData:
		if !e.TLS.Resumed {
			return KindDataFINWithoutData
		}
		return ""
	}
	if o == ftpflow.OutcomeReset {
		return KindDataReset
	}
	return ""
}

// groupConfidence is the least sure pairing of a group's connections.
func groupConfidence(conns []*ftpflow.Conn) Confidence {
	conf := Likely
	for _, c := range conns {
		conf = max(conf, PairingConfidence(c))
	}
	return conf
}

// encryptedConns cites a group's connections: the first by its endpoints
// (Refs.Conn), every listed one's SYNs, RST and first frame, under
// "data_connections", and how many were left out.
func (e *evidence) encryptedConns(conns []*ftpflow.Conn) {
	e.conn(conns[0])
	view := make([]map[string]any, 0, min(len(conns), maxListedConns))
	for _, c := range conns[:min(len(conns), maxListedConns)] {
		v := map[string]any{
			"client": c.Client.String(), "server": c.Server.String(), "first_frame": c.First.Frame,
			"outcome": c.EncryptedOutcome().String(), "pairing": PairingConfidence(c).String(),
		}
		e.refs.Frames = append(e.refs.Frames, c.First.Frame)
		if len(c.SYNs) > 0 {
			fs := make([]int, 0, len(c.SYNs))
			for _, s := range c.SYNs {
				fs = append(fs, s.Frame)
			}
			v["syn_frames"] = fs
			e.refs.Frames = append(e.refs.Frames, fs...)
		}
		if c.Reset != nil {
			v["rst_frame"] = c.Reset.Frame
			e.refs.Frames = append(e.refs.Frames, c.Reset.Frame)
		}
		if enc := c.Encrypted(); enc != nil && enc.ControlRecord.Seen() {
			// Context, not evidence: the control record the timing is read
			// from, in words.
			v["after_control_record"] = fmt.Sprintf("frame %d from the %s, %s before", enc.ControlRecord.Frame, enc.ControlFrom,
				c.First.Time.Sub(enc.ControlRecord.Time).Round(time.Microsecond))
		}
		view = append(view, v)
	}
	e.view["data_connections"] = view
	e.view["connections"] = len(conns)
	if n := len(conns) - maxListedConns; n > 0 {
		e.view["connections_not_listed"] = n
	}
}

// groupFilter shows a group's connections: the hosts of the session with
// the data ports (the listening side's).
func groupFilter(s *ftpflow.Session, conns []*ftpflow.Conn) string {
	ports := make([]int, 0, len(conns))
	for _, c := range conns {
		ports = append(ports, int(c.Server.Port()))
	}
	return hostsPortsFilter(s.Client.Addr(), s.Server.Addr(), ports)
}

// portList spells the listening ports of a group's connections, at most a
// few of them.
func portList(conns []*ftpflow.Conn) string {
	var ports []string
	seen := map[uint16]bool{}
	for _, c := range conns {
		if p := c.Server.Port(); !seen[p] {
			seen[p] = true
			ports = append(ports, fmt.Sprint(p))
		}
	}
	if len(ports) > 4 {
		return strings.Join(ports[:4], ", ") + fmt.Sprintf(" and %d more", len(ports)-4)
	}
	return strings.Join(ports, ", ")
}

// tlsBlindWords explains why a helper or firewall fails under TLS.
const tlsBlindWords = "The control channel is encrypted, so the PASV/EPSV replies (227, 229) and PORT/EPRT commands that announce each data port travel inside TLS: a NAT helper or a firewall's FTP inspection (nf_conntrack_ftp, ALGs) that must read them to open a pinhole, forward the port or rewrite the address cannot. In clear text it would have let these connections through; under TLS only what is opened explicitly passes. "

// encryptedSYNFailure reports data connections of an encrypted session
// whose SYNs went unanswered or were refused.
func (d *diag) encryptedSYNFailure(s *ftpflow.Session, g *encFailure) {
	v := s.Control.Locate().Side
	ev := newEvidence(map[string]any{"direction": g.mode.String(), "vantage": v.String(), "paired_by": "hosts and timing"})
	ev.encryptedConns(g.conns)
	n, c := len(g.conns), g.conns[0]
	who, to := "the FTP client", "the server's port"
	if g.mode == ftpflow.ModeActive {
		who, to = "the FTP server", "the client's port"
	}
	ports := portList(g.conns)
	if strings.ContainsAny(ports, ", ") {
		to += "s"
	}
	what := "got no answer"
	switch {
	case g.kind == KindDataSYNRefused && n == 1:
		what = "was refused with a RST"
	case g.kind == KindDataSYNRefused:
		what = "were refused with a RST"
	}
	summary := fmt.Sprintf("%d data connection%s from %s to %s %s %s during an encrypted session (%s mode)",
		n, plural(n), who, to, ports, what, g.mode)
	expl := fmt.Sprintf("Paired with the session by hosts and timing (the endpoints cannot be read), %d connection%s from %s to %s (%s) %s. ", n, plural(n), who, to, c.Server, what) +
		tlsBlindWords + encryptedSYNCause(g, v)
	rem := "Open the passive port range explicitly in every firewall and NAT device on the path (vsftpd pasv_min_port/pasv_max_port, ProFTPD PassivePorts), forward it to the server behind NAT and set the address it announces (vsftpd pasv_address, ProFTPD MasqueradeAddress); or, where clear-text commands are acceptable, have the client send CCC after login so that helpers can read PASV again. Capture the client's TLS keys (SSLKEYLOGFILE) and run ftpdiag --keylog to see the announced endpoints."
	if g.mode == ftpflow.ModeActive {
		rem = "Use passive mode (the client connects out, which client-side firewalls allow) with the server's passive range opened; or allow incoming connections from the server to the client's data ports explicitly, since no helper can read the encrypted PORT; CCC after login makes PORT readable again where that is acceptable."
	}
	d.add(Finding{Kind: g.kind, Severity: Error, Confidence: groupConfidence(g.conns), Session: s.ID,
		Summary: summary, Explanation: expl, Remediation: rem, Filter: groupFilter(s, g.conns)}, ev)
}

// encryptedSYNCause says what the silence or the RST means from where the
// capture was taken.
func encryptedSYNCause(g *encFailure, v ftpflow.Vantage) string {
	if g.kind == KindDataSYNRefused {
		return "A RST answered at once: nothing listens there, or a device rejects the connection; behind NAT, a router that forwards only the control port answers the data port itself, which is what a helper blind to TLS leaves."
	}
	expl := "Silence, rather than a RST, is the signature of a firewall that drops the packets."
	switch {
	case v == ftpflow.VantageServer && g.mode == ftpflow.ModePassive:
		expl += " This capture was taken near the server, yet shows the client's SYNs: they reached the server's network, so look at the server host's own firewall."
	case g.mode == ftpflow.ModeActive:
		expl += " In active mode the server connects back to the client: the client's firewall or NAT router drops the unsolicited connection, since no helper could read the PORT that would have opened it."
	}
	return expl
}

// encryptedTLSFailure reports data connections of an encrypted session
// whose own TLS ended before any data: an alert, a close during the
// handshake, or a full handshake closed at once (the server requires TLS
// session reuse).
func (d *diag) encryptedTLSFailure(s *ftpflow.Session, g *encFailure) {
	c := g.conns[0]
	e := c.Encrypted()
	t := &e.TLS
	end := t.End(c)
	ev := newEvidence(map[string]any{
		"direction": g.mode.String(), "paired_by": "hosts and timing", "tls_end": end.String(),
		"tls_version": t.VersionName(), "offered_resumption": t.OfferedResumption, "resumed": t.Resumed,
	})
	ev.encryptedConns(g.conns)
	ev.frame("client_hello_frame", t.ClientHello.Frame)
	if t.ServerHello.Seen() {
		// In words: the annotations know a data connection's first data
		// segment (the ClientHello) but not the ServerHello's frame.
		ev.set("server_hello", fmt.Sprintf("frame %d", t.ServerHello.Frame))
	}
	if closer, at := firstClose(c); at.Seen() {
		ev.frame("close_frame", at.Frame)
		ev.set("closed_by", closer.String())
	}
	conf := groupConfidence(g.conns)
	n := len(g.conns)
	filter := groupFilter(s, g.conns)
	var summary, expl string
	rem := "Make the client reuse the control connection's TLS session on data connections (curl and lftp do; Python's ftplib.FTP_TLS does not: pass session=self.sock.session when it wraps the data socket), or, if acceptable, stop requiring it on the server (vsftpd require_ssl_reuse=NO; ProFTPD TLSOptions NoSessionReuseRequired)."
	switch end {
	case ftpflow.TLSEndAlert:
		a := AlertWords(t.Alert)
		ev.frame("alert_frame", t.Alert.Frame)
		ev.set("alert", a)
		conf = Certain
		summary = fmt.Sprintf("the TLS handshake of %d data connection%s failed: %s sent the alert %s (frame %d)", n, plural(n), tlsSide(c, t.Alert.From), a, t.Alert.Frame)
		expl = fmt.Sprintf("The data connection opened, and its own TLS handshake began (ClientHello, frame %d), but %s sent the alert %s in clear text and the connection closed without data. ", t.ClientHello.Frame, tlsSide(c, t.Alert.From), a) +
			"Data connections of FTPS negotiate TLS of their own; an alert there is about certificates, versions or cipher suites, or a server that refuses the session the client offers."
		rem = "Read the alert: certificate alerts (42-48, 116) mean the client rejects the server's certificate or the server wants one from the client; protocol_version or handshake_failure mean no common version or cipher suite. The client's verbose log names the reason."
	case ftpflow.TLSEndHandshake:
		summary = fmt.Sprintf("%d data connection%s closed during the TLS handshake, before any data (ClientHello frame %d)", n, plural(n), t.ClientHello.Frame)
		expl = fmt.Sprintf("The data connection opened and the FTP client began TLS (ClientHello, frame %d), but the connection closed before the handshake completed, without an alert in clear text and without data. ", t.ClientHello.Frame) +
			"A server that refuses the data connection's TLS (it requires the control connection's session to be reused, or rejects the client's parameters) ends it this way; the server then answers the transfer with 425 or 522 on the encrypted control channel."
	default:
		summary = fmt.Sprintf("%d data connection%s closed right after a full TLS handshake, without data: the server likely requires TLS session reuse", n, plural(n))
		expl = fmt.Sprintf("The data connection opened and completed a full TLS handshake (ClientHello frame %d, ServerHello frame %d: %s, so the server did not resume the control connection's session), then closed at once without carrying any application data. ",
			t.ClientHello.Frame, t.ServerHello.Frame, map[bool]string{true: "the client offered a session the server did not take", false: "the client offered no session to resume"}[t.OfferedResumption]) +
			"This is how a server that requires TLS session reuse on data connections looks from outside: vsftpd (require_ssl_reuse=YES, its default) and ProFTPD (by default) check that the data connection resumed the control connection's session, and otherwise close it and answer 522 (\"SSL connection failed: session reuse required\") or 425 on the encrypted control channel. Without the keys that reply cannot be read; a capture cannot tell this from a legitimately empty transfer, hence the confidence."
		conf = max(conf, Possible)
		if serverEndedSoon(s, c) {
			conf = max(groupConfidence(g.conns), Likely)
			expl += " Here the server also closed the control connection right after (vsftpd ends the session after a 522), which an empty transfer would not do."
			end := s.Ended().Frame
			ev.frame("session_end_frame", end)
			filter += fmt.Sprintf(" || frame.number == %d", end)
		}
	}
	d.add(Finding{Kind: KindDataFINWithoutData, Severity: Error, Confidence: conf, Session: s.ID,
		Summary: summary, Explanation: expl, Remediation: rem, Filter: filter}, ev)
}

// encryptedReset reports data connections of an encrypted session reset
// after their TLS began, before any FIN.
func (d *diag) encryptedReset(s *ftpflow.Session, g *encFailure) {
	c := g.conns[0]
	ev := newEvidence(map[string]any{"direction": g.mode.String(), "paired_by": "hosts and timing", "rst_from": c.Reset.From.String()})
	ev.encryptedConns(g.conns)
	n := len(g.conns)
	d.add(Finding{Kind: KindDataReset, Severity: Error, Confidence: groupConfidence(g.conns), Session: s.ID,
		Summary:     fmt.Sprintf("%d data connection%s of the encrypted session reset before closing (first: RST from the %s, frame %d)", n, plural(n), c.Reset.From, c.Reset.Frame),
		Explanation: "A RST ended the data connection before either side closed it with a FIN. The encrypted control channel hides the transfer and the server's verdict (426 or 451), so whether data was lost cannot be read; a process killed, a firewall or IPS resetting long connections, or a NAT timeout are the usual causes.",
		Remediation: "Look at the side that sent the RST and any security device next to it; capture the client's TLS keys (SSLKEYLOGFILE) and run ftpdiag --keylog to read the server's reply.",
		Filter:      groupFilter(s, g.conns)}, ev)
}

// firstClose returns the side that closed c first (FIN or RST) and when.
func firstClose(c *ftpflow.Conn) (ftpflow.Side, ftpflow.Event) {
	side, at := ftpflow.Client, ftpflow.Event{}
	for _, sd := range []ftpflow.Side{ftpflow.Client, ftpflow.Server} {
		if f := c.FIN[sd]; f.Seen() && (!at.Seen() || f.Time.Before(at.Time)) {
			side, at = sd, f
		}
	}
	if r := c.Reset; r != nil && (!at.Seen() || r.Time.Before(at.Time)) {
		side, at = r.From, r.Event
	}
	return side, at
}

// tlsSide names the TCP side of c in TLS terms: the TLS client is the FTP
// client whoever opened the connection.
func tlsSide(c *ftpflow.Conn, side ftpflow.Side) string {
	if e := c.Encrypted(); e != nil && side == e.TLS.HelloFrom {
		return "the FTP client"
	}
	return "the FTP server"
}

// serverEndedSoon reports whether the FTP server closed the control
// connection (FIN or RST) within sessionEndWindow after c ended: a server
// that gives up the session after refusing the data connection's TLS.
func serverEndedSoon(s *ftpflow.Session, c *ftpflow.Conn) bool {
	ctl := s.Control
	var end ftpflow.Event
	if f := ctl.FIN[ftpflow.Server]; f.Seen() {
		end = f
	}
	if r := ctl.Reset; r != nil && r.From == ftpflow.Server && (!end.Seen() || r.Time.Before(end.Time)) {
		end = r.Event
	}
	if !end.Seen() {
		return false
	}
	_, closed := firstClose(c)
	gap := end.Time.Sub(closed.Time)
	return closed.Seen() && gap > -sessionEndWindow && gap < sessionEndWindow
}
