package ftpflow

import "time"

// Outcome says what became of a transfer's data connection.
type Outcome uint8

// The outcomes, spelled in JSON as their String values.
const (
	OutcomeUnknown Outcome = iota
	// OutcomeCompleted: the connection opened, carried the data (or an
	// empty file or listing the control channel confirms) and closed.
	OutcomeCompleted
	// OutcomeSYNUnanswered: SYNs were sent and never answered.
	OutcomeSYNUnanswered
	// OutcomeSYNRefused: a RST answered the SYN.
	OutcomeSYNRefused
	// OutcomeClosedWithoutData: the connection opened and closed (FIN)
	// without the data expected: none at all, or fewer bytes than the
	// server announced.
	OutcomeClosedWithoutData
	// OutcomeReset: a RST ended the connection before the data did.
	OutcomeReset
	// OutcomeNotAttempted: no SYN toward the endpoint, and the control
	// channel shows a failure or nothing.
	OutcomeNotAttempted
	// OutcomeNotCaptured: the control channel says the transfer succeeded
	// but the capture holds no data connection.
	OutcomeNotCaptured
	// OutcomeIncomplete: the capture ends, or loses the connection, before
	// the transfer does.
	OutcomeIncomplete
)

var outcomeNames = [...]string{
	"unknown", "completed", "syn_unanswered", "syn_refused",
	"closed_without_data", "reset", "not_attempted", "not_captured", "incomplete",
}

// String returns the outcome's snake_case name.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// MarshalText spells the outcome as String does.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Failed reports whether the outcome is a failure of the data connection.
func (o Outcome) Failed() bool {
	switch o {
	case OutcomeSYNUnanswered, OutcomeSYNRefused, OutcomeClosedWithoutData, OutcomeReset, OutcomeNotAttempted:
		return true
	}
	return false
}

// Status is the control channel's verdict on a transfer.
type Status uint8

// The statuses.
const (
	// StatusNoReply: no final reply in the capture.
	StatusNoReply Status = iota
	// StatusOK: a 2xx final reply.
	StatusOK
	// StatusFailed: a 4xx or 5xx final reply.
	StatusFailed
)

// String returns "ok", "failed" or "no_reply".
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusFailed:
		return "failed"
	}
	return "no_reply"
}

// MarshalText spells the status as String does.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// unansweredGrace is how long before the end of the capture a last SYN must
// have been sent for its lack of answer to count: a SYN in the capture's
// last moments may simply have been answered after it.
const unansweredGrace = time.Second

// judge sets the transfer's Status and Outcome from its replies and data
// connection. end is the last timestamp of the capture.
func (t *Transfer) judge(s *Session, end time.Time) {
	final := t.Final()
	switch {
	case final == nil:
		t.Status = StatusNoReply
	case final.Code < 400:
		t.Status = StatusOK
	default:
		t.Status = StatusFailed
	}
	c := t.Data
	if c == nil {
		switch {
		case t.Status == StatusOK && (final.Code == 226 || final.Code == 250 || t.Preliminary() != nil):
			t.Outcome = OutcomeNotCaptured
		case t.Status == StatusNoReply && !s.controlEnded():
			t.Outcome = OutcomeIncomplete
		case t.Status == StatusOK:
			t.Outcome = OutcomeUnknown // a 2xx that confirms no transfer (e.g. 225)
		default:
			t.Outcome = OutcomeNotAttempted
		}
		return
	}
	sender := t.dataSender()
	switch {
	case c.Handshake && !c.SYNACK.Seen():
		last := c.SYNs[len(c.SYNs)-1]
		switch {
		case c.Reset != nil && c.Reset.From == Server:
			t.Outcome = OutcomeSYNRefused
		case end.Sub(last.Time) < unansweredGrace && t.Status == StatusNoReply:
			t.Outcome = OutcomeIncomplete
		default:
			t.Outcome = OutcomeSYNUnanswered
		}
	case c.Reset != nil && !c.FIN[sender].Seen():
		if c.Bytes[sender] == 0 && c.Reset.From == Server && !c.Established() {
			t.Outcome = OutcomeSYNRefused
		} else {
			t.Outcome = OutcomeReset
		}
	case c.FIN[sender].Seen():
		if c.Bytes[sender] == 0 && t.dataExpected() || c.Bytes[sender] < t.expectedBytes() {
			t.Outcome = OutcomeClosedWithoutData
		} else {
			t.Outcome = OutcomeCompleted
		}
	default:
		t.Outcome = OutcomeIncomplete
	}
}

// dataSender returns the side of the data connection that sends the data:
// the FTP server for downloads and listings, the FTP client for uploads.
func (t *Transfer) dataSender() Side {
	c := t.Data
	ftpServerSide := Server // passive: the FTP server listens
	if t.Offer != nil && !t.Offer.Passive() {
		ftpServerSide = Client // active: the FTP server connects
	} else if t.Offer == nil && c != nil && t.Mode == ModeActive {
		ftpServerSide = Client
	}
	if t.Upload() {
		return ftpServerSide.Other()
	}
	return ftpServerSide
}

// DataSender returns the side of the data connection that sends the data.
func (t *Transfer) DataSender() Side { return t.dataSender() }

// expectedBytes returns how many bytes the data connection should carry
// according to the server (the announced size less any REST offset), or
// 0 when unknown.
func (t *Transfer) expectedBytes() int64 {
	if t.ExpectedSize <= 0 || t.Upload() {
		return 0
	}
	return t.ExpectedSize - max(t.Restart, 0)
}

// dataExpected reports whether an empty data connection contradicts the
// control channel: the server announced a non-zero size, or the final
// reply is not a success.
func (t *Transfer) dataExpected() bool {
	if t.ExpectedSize > 0 {
		return true
	}
	// A refusal of the command itself (550 no such file, 553...) closes
	// an empty data connection legitimately; a 425, 426 or 451, or no
	// reply at all, means data should have come.
	final := t.Final()
	return final == nil || final.Code == 425 || final.Code == 426 || final.Code == 451
}

// controlEnded reports whether the control connection closed, or the client
// quit, within the capture.
func (s *Session) controlEnded() bool {
	return s.Quit.Seen() || (s.Control != nil && (s.Control.Reset != nil || s.Control.FIN[Client].Seen() || s.Control.FIN[Server].Seen()))
}

// Ended returns where the session ended in the capture: the QUIT command,
// else the first FIN or RST of the control connection (zero if none).
func (s *Session) Ended() Event {
	if s.Quit.Seen() {
		return s.Quit
	}
	var first Event
	c := s.Control
	for _, e := range []Event{c.FIN[Client], c.FIN[Server]} {
		if e.Seen() && (!first.Seen() || compareEvents(e, first) < 0) {
			first = e
		}
	}
	if c.Reset != nil && (!first.Seen() || compareEvents(c.Reset.Event, first) < 0) {
		first = c.Reset.Event
	}
	return first
}

// Outcome says what became of a data connection judged on its own, as
// for an announcement no transfer command followed: no control reply
// tells what data was expected, so a connection closed without data is
// closed_without_data and one that carried data and closed is completed.
func (c *Conn) Outcome() Outcome {
	sender := Server
	if c.Bytes[Client] > c.Bytes[Server] {
		sender = Client
	}
	switch {
	case c.Handshake && !c.SYNACK.Seen():
		if c.Reset != nil && c.Reset.From == Server {
			return OutcomeSYNRefused
		}
		return OutcomeSYNUnanswered
	case c.Reset != nil && !c.FIN[sender].Seen():
		if c.Bytes[sender] == 0 && c.Reset.From == Server && !c.Established() {
			return OutcomeSYNRefused
		}
		return OutcomeReset
	case c.FIN[sender].Seen():
		if c.Bytes[sender] == 0 {
			return OutcomeClosedWithoutData
		}
		return OutcomeCompleted
	}
	return OutcomeIncomplete
}
