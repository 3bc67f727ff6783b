package analyze

import (
	"fmt"
	"strings"

	"ftpdiag/ftpflow"
)

// The findings about the analysis itself: what its bounds left out, and
// connections to the control port that never became sessions.
const (
	KindAnalysisPartial = "analysis_partial"
	KindControlHalfOpen = "control_half_open"
	// KindControlRefused is a control connection refused: every SYN to
	// the FTP port was answered with a RST, so no session could begin.
	KindControlRefused = "control_connection_refused"
)

// NoSession reports whether findings of kind cite connections that never
// became a session (their frames are in no session's view).
func NoSession(kind string) bool {
	return kind == KindControlHalfOpen || kind == KindControlRefused
}

// halfOpenFlood is how many half-open control connections make a flood
// rather than a few attempts at a server that did not answer.
const halfOpenFlood = 100

// hiddenFindings counts the sessions an Analysis analysed but did not keep
// (at most Tracker.MaxSessions are kept without Options.Sessions), and
// their findings by severity, so that the exit status and the findings say
// what the report does not show.
type hiddenFindings struct {
	sessions   int
	first      int // the first session left out
	bySeverity [Error + 1]int
}

// add counts a session left out with its findings.
func (h *hiddenFindings) add(s *ftpflow.Session, fs []Finding) {
	if h.sessions == 0 || s.ID < h.first {
		h.first = s.ID
	}
	h.sessions++
	for _, f := range fs {
		h.bySeverity[f.Severity]++
	}
}

// worst returns the severity of the most serious finding counted, Info
// when none.
func (h *hiddenFindings) worst() Severity {
	for sev := Error; sev > Info; sev-- {
		if h.bySeverity[sev] > 0 {
			return sev
		}
	}
	return Info
}

// boundsFindings draws, once the capture is read, the findings about what
// the bounds left out: an analysis_partial finding when sessions, or parts
// of sessions, were not analysed or not kept, and a control_half_open
// finding for connections to port 21 that never became sessions.
func (d *diag) boundsFindings(hidden *hiddenFindings) []Finding {
	d.out = nil
	b := d.tracker.Bounds()
	d.analysisPartial(b, hidden)
	d.halfOpen(b.HalfOpen)
	return d.out
}

// analysisPartial reports what the bounds left out of the analysis. Its
// severity makes the exit status say it: error when sessions or transfers
// were not analysed at all (a failure among them would go unseen),
// otherwise that of the most serious finding left out of the report.
func (d *diag) analysisPartial(b ftpflow.Bounds, hidden *hiddenFindings) {
	if b.DroppedSessions == 0 && !b.Dropped.Any() && hidden.sessions == 0 {
		return
	}
	ev := newEvidence(map[string]any{"max_sessions": b.MaxSessions})
	var what []string
	sev := Info
	if n := b.DroppedSessions; n > 0 {
		sev = Error
		ev.set("sessions_not_analysed", n)
		what = append(what, fmt.Sprintf("%d FTP session%s not analysed (--max-sessions %d were open at once)", n, plural(n), b.MaxSessions))
	}
	if n := b.Dropped.Transfers; n > 0 {
		sev = Error
		ev.set("transfers_not_analysed", n)
		what = append(what, fmt.Sprintf("%d transfer%s beyond %d per session not analysed", n, plural(n), ftpflow.MaxTransfersKept))
	}
	if n := b.Dropped.Offers; n > 0 {
		sev = Error
		ev.set("offers_not_analysed", n)
		what = append(what, fmt.Sprintf("%d announcement%s beyond %d per session not analysed", n, plural(n), ftpflow.MaxOffersKept))
	}
	if n := b.Dropped.EncryptedData; n > 0 {
		sev = max(sev, Warning)
		ev.set("encrypted_data_not_paired", n)
		what = append(what, fmt.Sprintf("%d connection%s beside an encrypted session beyond %d not paired with it", n, plural(n), ftpflow.MaxEncryptedDataKept))
	}
	if n := b.Dropped.Unlinked; n > 0 {
		sev = max(sev, Warning)
		ev.set("data_connections_not_linked", n)
		what = append(what, fmt.Sprintf("%d data connection%s not linked, as a session not analysed joins the same hosts", n, plural(n)))
	}
	if len(b.Sessions) > 0 {
		ev.set("sessions", b.Sessions)
		if b.MoreSessions > 0 {
			ev.set("more_sessions", b.MoreSessions)
		}
	}
	if h := hidden; h.sessions > 0 {
		sev = max(sev, h.worst())
		ev.set("sessions_not_reported", h.sessions)
		ev.set("findings_not_reported", map[string]int{"error": h.bySeverity[Error], "warning": h.bySeverity[Warning], "info": h.bySeverity[Info]})
		s := fmt.Sprintf("%d FTP session%s (from session %d) analysed but left out of this report (--max-sessions %d)", h.sessions, plural(h.sessions), h.first, b.MaxSessions)
		if n := h.bySeverity[Error] + h.bySeverity[Warning] + h.bySeverity[Info]; n > 0 {
			s += fmt.Sprintf(", with %d error, %d warning and %d info finding%s not shown", h.bySeverity[Error], h.bySeverity[Warning], h.bySeverity[Info], plural(n))
		}
		what = append(what, s)
	}
	d.add(Finding{
		Kind:     KindAnalysisPartial,
		Severity: sev,
		Summary:  "the analysis is partial: " + strings.Join(what, "; "),
		Explanation: "ftpdiag bounds what it holds so that a capture cannot exhaust its memory: the FTP sessions open at once (--max-sessions, also the sessions a text or HTML report keeps), and per session the transfers and announcements kept. " +
			"What a bound left out is not analysed, so a failure in it goes unseen; and a data connection between the hosts of a session not analysed may be that session's, so it is linked to no other. " +
			"This finding takes the severity of what it may hide: error when sessions or transfers were not analysed, otherwise that of the findings left out of the report.",
		Remediation: "Raise --max-sessions above the number of sessions open at once, or use --format json, which streams every session and keeps only those open at once; split a capture by host (tcpdump or editcap) when one session holds more transfers than the bound.",
	}, ev)
}

// halfOpen reports connections to the FTP control port that never
// completed their handshake nor carried a byte: a few are a server that
// did not answer, many a SYN flood. They take no session slot.
func (d *diag) halfOpen(h ftpflow.HalfOpen) {
	if h.Count == 0 {
		return
	}
	ev := newEvidence(map[string]any{
		"count": h.Count, "unanswered": h.Unanswered, "refused": h.Refused, "not_acknowledged": h.NotAcked,
		"first": stamp(h.First.Time), "last": stamp(h.Last.Time),
	})
	ev.frame("first_syn_frame", h.First.Frame)
	if h.Last.Frame != h.First.Frame {
		ev.frame("last_syn_frame", h.Last.Frame)
	}
	servers := make([]string, 0, len(h.Servers))
	for _, s := range h.Servers {
		servers = append(servers, fmt.Sprintf("%s (%d)", s.Endpoint, s.Count))
	}
	if h.OtherServers > 0 {
		servers = append(servers, fmt.Sprintf("%d more attempts at other servers", h.OtherServers))
	}
	ev.set("servers", servers)
	clients := fmt.Sprint(h.Clients)
	if h.ClientsCapped {
		clients = "more than " + clients
	}
	ev.set("clients", clients)
	if h.Count < halfOpenFlood && h.Refused == h.Count {
		d.add(controlRefused(h, servers), ev)
		return
	}
	f := Finding{Kind: KindControlHalfOpen, Severity: Warning}
	span := h.Last.Time.Sub(h.First.Time)
	if h.Count >= halfOpenFlood {
		f.Summary = fmt.Sprintf("SYN flood at the FTP control port: %d connections from %s client addresses over %s never completed their handshake (%s)",
			h.Count, clients, span.Round(1e6), strings.Join(servers, ", "))
	} else {
		f.Summary = fmt.Sprintf("%d connection%s to the FTP control port never completed the handshake (%d unanswered, %d refused, %d not acknowledged by the client): %s",
			h.Count, plural(h.Count), h.Unanswered, h.Refused, h.NotAcked, strings.Join(servers, ", "))
	}
	f.Explanation = "These connections to port 21 sent a SYN and went no further: unanswered, refused with a RST, or answered with a SYN-ACK the client never acknowledged. " +
		"A handful is a client trying a server that is down, filtered or not listening; thousands from many addresses are a SYN flood, which fills the server's backlog so that real clients time out. " +
		"ftpdiag counts them apart: they hold no session slot and are not listed as sessions."
	f.Remediation = "For a few: check that the FTP server runs and that port 21 is open on the path (a firewall drops or rejects it). For a flood: enable SYN cookies (net.ipv4.tcp_syncookies=1), rate-limit new connections to port 21 at the firewall, and find the sources in the capture."
	f.Filter = "tcp.dstport == 21 && tcp.flags.syn == 1 && tcp.flags.ack == 0"
	if len(h.Servers) == 1 && h.OtherServers == 0 {
		f.Filter += " && " + hostFilter(h.Servers[0].Endpoint.Addr())
	}
	d.add(f, ev)
}

// controlRefused is the finding about control connections that were all
// refused: the server's host (or a device in its name) answered each SYN
// to the FTP port with a RST. No FTP was spoken, so every transfer the
// client meant to make failed; what refused cannot be told from the
// packets alone.
func controlRefused(h ftpflow.HalfOpen, servers []string) Finding {
	f := Finding{Kind: KindControlRefused, Severity: Error}
	if h.Count == 1 {
		f.Summary = "the connection to the FTP control port was refused (RST): " + strings.Join(servers, ", ")
	} else {
		f.Summary = fmt.Sprintf("all %d connections to the FTP control port were refused (RST): %s", h.Count, strings.Join(servers, ", "))
	}
	f.Explanation = "The client's SYN to the FTP port was answered with a RST instead of a SYN-ACK, so no FTP session began and nothing could be transferred. " +
		"A RST to a SYN means that nothing listens on that port at that address (the FTP server is stopped, listens on another port or address), or that a firewall rejects the connection in the server's name (iptables REJECT --reject-with tcp-reset). " +
		"The capture shows the refusal, not which of the two made it: a capture at the server shows whether the SYN reached it."
	f.Remediation = "Check that the FTP server runs and listens on this address and port (ss -ltnp on the server), that the client uses the right port (21, or the server's own), and that no firewall on the path rejects the port."
	f.Filter = "tcp.port == 21 && (tcp.flags.syn == 1 || tcp.flags.reset == 1)"
	if len(h.Servers) == 1 && h.OtherServers == 0 {
		f.Filter += " && " + hostFilter(h.Servers[0].Endpoint.Addr())
	}
	return f
}
