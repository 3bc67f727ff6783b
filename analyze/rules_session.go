package analyze

import (
	"fmt"
	"strings"

	"ftpdiag/ftpflow"
)

// encrypted reports a control channel turned to TLS: first the failed
// data connections that pairing by hosts and timing found (rules_tls.go),
// then, as info, what the encryption hides and what was paired.
func (d *diag) encrypted(s *ftpflow.Session) {
	if !s.ControlEncrypted() {
		return
	}
	failedConns := d.encryptedFailures(s)
	tls := s.TLS
	var conns []map[string]any
	for _, c := range s.EncryptedData[:min(len(s.EncryptedData), maxListedConns)] {
		conn := map[string]any{
			"client": c.Client.String(), "server": c.Server.String(), "first_frame": c.First.Frame,
			"syn_count": c.SYNCount, "bytes_client": c.Bytes[ftpflow.Client], "bytes_server": c.Bytes[ftpflow.Server],
			"outcome": c.EncryptedOutcome().String(), "pairing": PairingConfidence(c).String(),
		}
		if e := c.Encrypted(); e != nil {
			conn["direction"] = e.Mode.String()
		}
		conns = append(conns, conn)
	}
	ev := newEvidence(map[string]any{
		"command": tls.Command, "data_connections_by_hosts_and_timing": conns,
		"paired_connections": len(s.EncryptedData), "failed_connections": failedConns,
	})
	if tls.Request.Seen() {
		ev.request(tls.Request.Frame)
	}
	ev.accepted(tls.Accepted.Frame)
	if tls.Handshake.Seen() {
		ev.frame("first_tls_frame", tls.Handshake.Frame)
	}
	if tls.ClearAgain.Seen() {
		ev.frame("clear_again_frame", tls.ClearAgain.Frame)
	}
	summary := fmt.Sprintf("control channel %s (frame %d): endpoints and replies cannot be read", protectionWords(s), tls.Accepted.Frame)
	if tls.ClearAgain.Seen() {
		summary = fmt.Sprintf("control channel %s (frame %d) until frame %d", protectionWords(s), tls.Accepted.Frame, tls.ClearAgain.Frame)
	}
	if n := len(s.EncryptedData); n > 0 {
		summary += fmt.Sprintf("; %d data connection%s paired by hosts and timing, %d failed", n, plural(n), failedConns)
	}
	expl := encryptedExplanation(s, len(s.EncryptedData), failedConns)
	rem := "To read the control channel, capture the TLS keys (SSLKEYLOGFILE with curl, lftp or Firefox; SSLContext.keylog_filename in Python) and run ftpdiag --keylog FILE, or decrypt in Wireshark; or read the client's debug log. To make FTPS work through NAT and firewalls: set the server's external address (vsftpd pasv_address, ProFTPD MasqueradeAddress) and open its passive port range in every firewall, since no helper can."
	if tls.RFC2228 {
		rem = "A channel protected by GSSAPI cannot be decrypted from a capture: read the client's debug log (globus-url-copy -dbg, uberftp -debug) or the server's log. Through NAT: set the server's external address (GridFTP: GLOBUS_HOSTNAME or -data-interface) and open its data port range (GLOBUS_TCP_PORT_RANGE) in every firewall, since no helper can."
	}
	filter := conversationFilter(s.Client, s.Server)
	if len(s.EncryptedData) > 0 {
		filter += " || " + groupFilter(s, s.EncryptedData)
	}
	d.add(Finding{Kind: KindControlEncrypted, Severity: Info, Session: s.ID, Summary: summary, Explanation: expl, Remediation: rem, Filter: filter}, ev)
}

// implicitTLS reports whether a session spoke TLS from the first byte of a
// control connection whose handshake the capture holds: implicit FTPS.
func implicitTLS(s *ftpflow.Session) bool {
	return s.TLS.Before && !s.TLS.RFC2228 && s.Control.Handshake
}

// protectionWords says how, and since when, a control channel is
// protected: "encrypted after AUTH TLS", "protected (RFC 2228) after AUTH
// GSSAPI", "encrypted from the start of the capture".
func protectionWords(s *ftpflow.Session) string {
	tls := s.TLS
	what := "encrypted"
	if tls.RFC2228 {
		what = "protected (RFC 2228)"
	}
	if implicitTLS(s) {
		return what + " from its first byte (implicit FTPS)"
	}
	if tls.Before {
		return what + " from the start of the capture"
	}
	return what + " after " + tls.Command
}

// encryptedExplanation says what an encrypted control channel hides, and
// what pairing by hosts and timing found (conns connections, failed of
// them failed).
func encryptedExplanation(s *ftpflow.Session, conns, failed int) string {
	tls := s.TLS
	unreadable := "the PASV/EPSV replies and PORT commands, and the server's 425/426/522 replies, cannot be read from the capture. "
	var expl string
	switch {
	case implicitTLS(s):
		expl = fmt.Sprintf("This is implicit FTPS: the client began TLS with its first bytes (frame %d) on port %d, without AUTH, and the server's greeting, the login, the commands, ", tls.Accepted.Frame, s.Server.Port()) + unreadable
	case tls.Before:
		expl = fmt.Sprintf("The capture began after the control channel was protected: from its first bytes (frame %d) the dialogue is %s, and the AUTH exchange that set it up is not in the capture, so the user, the commands, ", tls.Accepted.Frame,
			map[bool]string{false: "TLS records", true: "RFC 2228 protected commands (MIC, ENC, CONF) and replies (631-633)"}[tls.RFC2228]) + unreadable
	case tls.RFC2228:
		expl = fmt.Sprintf("The client asked for RFC 2228 security with %s; the server accepted it and the security data exchange (ADAT) ended with 235 (frame %d), as GridFTP (GSI) does on port 2811. From then on each command travels wrapped in a MIC (integrity-protected), CONF or ENC (encrypted) command and each reply in a 631, 632 or 633 reply, so ", tls.Command, tls.Accepted.Frame) + unreadable
	default:
		expl = fmt.Sprintf("The client asked for TLS with %s and the server accepted with 234 (frame %d); from then on the control channel is encrypted, so ", tls.Command, tls.Accepted.Frame) + unreadable
	}
	expl += "For the same reason NAT helpers and firewall FTP inspection (nf_conntrack_ftp, ALGs) cannot rewrite the announced endpoints or open pinholes for the data ports: FTPS through NAT works only with a correct announced address (pasv_address) and a passive port range opened explicitly. "
	if tls.RFC2228 {
		expl = strings.Replace(expl, "FTPS through NAT", "a protected channel through NAT", 1)
	}
	switch {
	case conns > 0 && failed > 0:
		expl += fmt.Sprintf("Paired by hosts and timing instead, %d connection%s between the same two hosts began while the channel was encrypted; %d of them failed, each failure reported in a finding of its own. Which transfer each served, and what the server replied, cannot be seen. ", conns, plural(conns), failed)
	case conns > 0:
		expl += fmt.Sprintf("Paired by hosts and timing instead, %d connection%s between the same two hosts began while the channel was encrypted, and none failed as far as TCP and TLS framing show. Which transfer each served, and what the server replied, cannot be seen. ", conns, plural(conns))
	default:
		expl += "No connection between the same two hosts began while the channel was encrypted, in this capture: either no transfer was asked for, or its data connections never reached this capture point (a client sent to an unreachable announced address, or a firewall dropped them on the way). "
	}
	if tls.ClearAgain.Seen() {
		expl += "The channel returned to clear text later (CCC or a TLS shutdown), and what followed is analysed normally."
	}
	return expl
}

// nonstandardPort reports FTP on a control port other than 21.
func (d *diag) nonstandardPort(s *ftpflow.Session) {
	port := s.Server.Port()
	if port == 21 || port == 990 && s.ControlEncrypted() && implicitTLS(s) {
		return // 990 is implicit FTPS's own port
	}
	active := 0
	for _, o := range s.Offers {
		if !o.Passive() {
			active++
		}
	}
	ev := newEvidence(map[string]any{
		"control_server": s.Server.String(), "detected_by": s.DetectedBy, "active_offers": active,
	})
	expl := fmt.Sprintf("This FTP control connection uses port %d, not 21. It was recognised by %s. NAT helpers and firewall FTP inspection (Linux nf_conntrack_ftp, home routers' ALGs) only watch port 21 unless told otherwise, so on this port they neither rewrite PORT/PASV addresses nor open pinholes for data connections: active mode through NAT and passive mode through a stateful firewall need explicit configuration.", port, map[string]string{"port": "its port", "content": "its content (a 220 greeting answered by FTP commands)"}[s.DetectedBy])
	rem := fmt.Sprintf("If data connections fail: configure the helper for this port (modprobe nf_conntrack_ftp ports=21,%d and a CT --helper ftp rule), open the passive range explicitly, or use passive mode with a correct announced address. In Wireshark use Decode As... TCP port %d as FTP.", port, port)
	d.add(Finding{Kind: KindNonstandardPort, Severity: Info, Session: s.ID,
		Summary: fmt.Sprintf("FTP control connection on port %d", port), Explanation: expl, Remediation: rem,
		Filter: conversationFilter(s.Client, s.Server)}, ev)
}

// activeSourcePort reports active data connections not from port 20.
func (d *diag) activeSourcePort(s *ftpflow.Session) {
	var ids []int
	ports := map[uint16]bool{}
	var list []string
	for _, t := range s.Transfers {
		c := t.Data
		if t.Mode != ftpflow.ModeActive || c == nil || !c.Handshake || c.Client.Port() == 20 {
			continue
		}
		ids = append(ids, t.ID)
		if !ports[c.Client.Port()] {
			ports[c.Client.Port()] = true
			list = append(list, fmt.Sprint(c.Client.Port()))
		}
	}
	if len(ids) == 0 {
		return
	}
	ev := newEvidence(map[string]any{"source_ports": list, "server": s.Server.Addr().String()})
	ev.transfers(ids)
	d.add(Finding{Kind: KindActiveSourcePort, Severity: Info, Session: s.ID,
		Summary:     fmt.Sprintf("active data connections come from port %s, not 20", strings.Join(list, ", ")),
		Explanation: "RFC 959 has the server open active-mode data connections from port 20 (L-1, one below the control port). Many servers use an ephemeral port instead (vsftpd with connect_from_port_20=NO, ProFTPD by default, servers without root privileges). Firewalls on the client's side that allow incoming data only from port 20 will drop these connections.",
		Remediation: "Firewall rules for active FTP should match the connection to the announced client port (or use an FTP helper), not the server's source port; or configure the server to use port 20 (vsftpd connect_from_port_20=YES).",
		Filter:      fmt.Sprintf("%s && tcp.srcport in {%s} && tcp.flags.syn == 1 && tcp.flags.ack == 0", hostFilter(s.Server.Addr()), strings.Join(list, ", "))}, ev)
}

// captureIncomplete says what the capture lacks and which conclusions that
// weakens.
func (d *diag) captureIncomplete(s *ftpflow.Session) {
	var notes []string
	ev := newEvidence(nil)
	if !s.Control.Handshake {
		notes = append(notes, "the control connection began before the capture (no handshake, maybe no login)")
		ev.set("control_started_before_capture", true)
	}
	if gaps := s.Gaps[0] + s.Gaps[1]; gaps > 0 {
		notes = append(notes, fmt.Sprintf("the control stream misses segments (%d hole(s)), so some commands or replies are absent and pairing may be off", gaps))
		ev.set("control_gaps", s.Gaps)
		ev.set("control_gap_bytes", s.GapBytes)
	}
	var notCaptured, trimmed []int
	var trimmedConns []*ftpflow.Conn
	for _, t := range s.Transfers {
		if _, done := d.explained[t]; done {
			continue // another finding says why this transfer is short
		}
		if t.Outcome == ftpflow.OutcomeNotCaptured {
			notCaptured = append(notCaptured, t.ID)
		}
		if c := t.Data; c != nil && (t.Outcome == ftpflow.OutcomeIncomplete || missesData(t)) {
			trimmed = append(trimmed, t.ID)
			trimmedConns = append(trimmedConns, c)
		}
	}
	if len(notCaptured) > 0 {
		notes = append(notes, fmt.Sprintf("%d transfer(s) that the server reports successful have no data connection in the capture (filtered or trimmed capture, not a failure)", len(notCaptured)))
		ev.set("transfers_not_captured", notCaptured)
	}
	if len(trimmed) > 0 {
		notes = append(notes, fmt.Sprintf("%d data connection(s) miss packets or end before their transfer does, so byte counts come from sequence numbers and acknowledgements", len(trimmed)))
		ev.set("transfers_with_missing_data_packets", trimmed)
	}
	if len(notes) == 0 {
		return
	}
	d.add(Finding{Kind: KindCaptureIncomplete, Severity: Info, Session: s.ID,
		Summary:     "the capture does not hold everything: " + notes[0],
		Explanation: "What the capture lacks: " + strings.Join(notes, "; ") + ". Conclusions about what is missing are weaker: a connection absent from the capture may have existed on the wire. Where the control channel confirms success, ftpdiag trusts it.",
		Remediation: "Capture without a filter on the data ports (or with a filter on the two hosts rather than on port 21), from the start of the session, with a snapshot length large enough for whole packets (tcpdump -s 0), and check the capture tool reported no drops.",
		Filter:      incompleteFilter(s, trimmedConns)}, ev)
}

// missesData says whether the capture lacks some of the bytes the sender
// of a transfer's data connection sent.
func missesData(t *ftpflow.Transfer) bool {
	c, sender := t.Data, t.DataSender()
	return c.Bytes[sender] > 0 && c.Bytes[sender] > c.Captured[sender]
}

// maxFilterConns bounds the connections a filter names one by one.
const maxFilterConns = 8

// incompleteFilter shows where a session's capture is incomplete: the
// control connection's lost segments and completion replies, and the data
// connections that miss packets (the first maxFilterConns of them).
func incompleteFilter(s *ftpflow.Session, trimmed []*ftpflow.Conn) string {
	filter := conversationFilter(s.Client, s.Server) + " && (tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment || ftp.response.code == 226)"
	if len(trimmed) > 0 {
		filter = "(" + filter + ")"
	}
	for _, c := range trimmed[:min(len(trimmed), maxFilterConns)] {
		filter += " || " + conversationFilter(c.Client, c.Server)
	}
	return filter
}

func appendOnce(ids []int, id int) []int {
	for _, x := range ids {
		if x == id {
			return ids
		}
	}
	return append(ids, id)
}
