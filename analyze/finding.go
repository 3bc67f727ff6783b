package analyze

import (
	"net/netip"

	"ftpdiag/ftpflow"
)

// Finding is one diagnosis: what went wrong (or is worth knowing), the
// evidence for it, and what to do about it.
type Finding struct {
	// ID numbers the finding in the order findings were drawn: "F1"...
	ID string
	// Kind is one of the Kind constants.
	Kind     string
	Severity Severity
	// Confidence says how sure the finding's cause is; severity says how
	// much it matters, whatever the certainty.
	Confidence Confidence
	// Session and Transfer are the IDs the finding belongs to (0: none).
	Session, Transfer int
	// Summary says in one line what happened; Explanation explains the
	// mechanism, for someone learning it; Remediation says what to change.
	Summary, Explanation, Remediation string
	// Evidence is the JSON view of the evidence, as the report prints it:
	// every fact by name, with frames, times, addresses as "ip:port"
	// strings and counts. It is written for people; code reads Refs.
	Evidence map[string]any
	// Refs are the evidence's references into the capture and the
	// analysis, typed: the same facts the Evidence map spells out.
	Refs Refs
	// Filter is a Wireshark display filter that shows the evidence.
	Filter string
}

// Refs are what a finding points at: frames, a TCP connection, an
// announcement, transfers. The display filter and the ladder diagram are
// drawn from them; each field has its counterpart in Finding.Evidence.
type Refs struct {
	// Offer is the announcement the finding is about (the first, when it
	// is about several of the same address); its Frame is 0 when none.
	Offer OfferRef
	// CommandFrame is the transfer command's frame (0: none).
	CommandFrame int
	// RequestFrame is the frame of a request the server answered in a way
	// the finding is about: a refused PASV, the AUTH command (0: none).
	RequestFrame int
	// AcceptedFrame is the frame of the server's 234 accepting TLS (0:
	// none).
	AcceptedFrame int
	// ReplyFrames are the frames of the server replies cited: the final
	// reply to a transfer, a refusal.
	ReplyFrames []int
	// Frames are the TCP packets cited: SYNs, SYN-ACK, RST, FIN, first and
	// last data segments, the close of a connection whose 5-tuple was
	// reused, the first TLS record, the session's end.
	Frames []int
	// ICMPFrames are the ICMP "fragmentation needed" or "packet too big"
	// messages cited.
	ICMPFrames []int
	// Conn is the TCP connection the evidence names by its endpoints (a
	// data connection, or the 5-tuple reused in TIME-WAIT); zero when none.
	Conn ConnRef
	// Transfers are the IDs of the transfers concerned when the finding is
	// about several (one address announced more than once, active data
	// connections from one source port).
	Transfers []int
	// Sessions are the IDs of other sessions the finding cites: those
	// holding the passive ports a refused session needed.
	Sessions []int
}

// OfferRef names one endpoint announcement of the finding's session.
type OfferRef struct {
	// ID is the offer's number in its session (ftpflow.Offer.ID).
	ID int
	// Frame is the frame of the 227/229 reply or PORT/EPRT command.
	Frame int
	// Endpoint is the announced address and port.
	Endpoint netip.AddrPort
}

// ConnRef names a TCP connection by its endpoints, in TCP roles: Client
// sent the SYN (in active mode, the FTP server).
type ConnRef struct {
	Client, Server netip.AddrPort
}

// IsValid reports whether the reference names a connection.
func (c ConnRef) IsValid() bool { return c.Client.IsValid() && c.Server.IsValid() }

// Severity ranks findings.
type Severity uint8

// The severities, from least to most serious.
const (
	Info Severity = iota
	Warning
	Error
)

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "info"
}

// MarshalText spells the severity as String does.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Confidence says how sure a finding is of its cause: the capture shows it
// (certain, the zero value), the evidence points to it without proving it
// (likely), or it is one explanation among others (possible).
type Confidence uint8

// The confidences, from most to least sure.
const (
	Certain Confidence = iota
	Likely
	Possible
)

// String returns "certain", "likely" or "possible".
func (c Confidence) String() string {
	switch c {
	case Likely:
		return "likely"
	case Possible:
		return "possible"
	}
	return "certain"
}

// MarshalText spells the confidence as String does.
func (c Confidence) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// TransferCounts tallies a session's transfers by how they ended, from the
// findings drawn on them, so that counts and verdict never disagree.
type TransferCounts struct {
	// Transfers counts them all.
	Transfers int
	// OK: the server confirmed the transfer and nothing was found wrong
	// with it at warning or above.
	OK int
	// Failed: the transfer carries an error finding.
	Failed int
	// Aborted: the client cancelled it (ABOR) and no error was found.
	Aborted int
	// Refused: the server refused the command itself (550 no such file,
	// 530...) and no error was found: a failed command, not a failed data
	// connection.
	Refused int
	// Other: no reply, or a warning on a confirmed transfer; none of the
	// above.
	Other int
}

// CountTransfers tallies the transfers of s; findings are (at least)
// those drawn on s.
func CountTransfers(s *ftpflow.Session, findings []Finding) TransferCounts {
	worst := map[int]Severity{}
	for _, f := range findings {
		if f.Session != s.ID {
			continue
		}
		ids := append([]int{f.Transfer}, f.Refs.Transfers...)
		for _, id := range ids {
			if w, ok := worst[id]; id != 0 && (!ok || f.Severity > w) {
				worst[id] = f.Severity
			}
		}
	}
	var n TransferCounts
	for _, t := range s.Transfers {
		n.Transfers++
		w, found := worst[t.ID]
		switch {
		case found && w == Error:
			n.Failed++
		case t.Aborted:
			n.Aborted++
		case t.Status == ftpflow.StatusFailed:
			n.Refused++
		case t.Status == ftpflow.StatusOK && !t.Outcome.Failed() && (!found || w == Info):
			n.OK++
		default:
			n.Other++
		}
	}
	return n
}
