package ftpflow

import (
	"bytes"
	"time"
)

// Pairing by hosts and timing: what ties a connection to an encrypted
// session whose endpoints cannot be read, and what its own TLS records
// show. Nothing here decrypts: record headers and the clear-text hello
// messages only.
const (
	// RhythmWindow is how soon after the control connection's last TLS
	// record a data connection must begin for its timing to fit the
	// dialogue: a 227/229 reply then, at once, the client's SYN (passive),
	// or the client's transfer command then the server's SYN (active).
	// Clients connect within milliseconds; curl waits a second before
	// its second data connection, hence the margin.
	RhythmWindow = 2 * time.Second
	// maxTLSRecords bounds the records followed per direction of a data
	// connection: enough for the handshake and the first data.
	maxTLSRecords = 64
	// ticketBurst is how soon after the client's Finished the server's
	// TLS 1.3 session tickets come (they are sent unprompted, at once).
	ticketBurst = 50 * time.Millisecond
	// maxTickets bounds the records taken for session tickets.
	maxTickets = 4
	// maxAlertRecord is the largest record taken for an encrypted alert
	// (2 bytes, the inner content type and an AEAD tag: 19 in TLS 1.3).
	maxAlertRecord = 26
	// highPort is the lowest port a passive data port (or an active
	// client's listening port) normally is.
	highPort = 1024
)

// TLS record content types and handshake message types (RFC 8446).
const (
	recChangeCipherSpec = 20
	recAlert            = 21
	recHandshake        = 22
	recApplicationData  = 23
	hsClientHello       = 1
	hsServerHello       = 2
	extPreSharedKey     = 41
	extSessionTicket    = 35
	extSupportedVersion = 43
	tls12               = 0x0303
	tls13               = 0x0304
)

// helloRetryRandom is the ServerHello random that marks a TLS 1.3
// HelloRetryRequest (RFC 8446, 4.1.3).
var helloRetryRandom = []byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

// EncryptedConn is what pairing a connection with an encrypted session by
// hosts and timing found, and what the connection's own TLS showed.
type EncryptedConn struct {
	// Mode is ModePassive when the FTP client opened the connection (to
	// the server), ModeActive when the FTP server opened it.
	Mode Mode
	// ControlRecord is the last segment of TLS payload on the control
	// connection before this connection began, ControlFrom its sender;
	// ControlRecord is zero when there was none since the encryption
	// started.
	ControlRecord Event
	ControlFrom   Side
	// Rhythm is set when the timing fits the control dialogue: the
	// connection began within RhythmWindow of ControlRecord, sent by the
	// side that announces the endpoint (the server for passive mode, the
	// client's transfer command for active mode), to a high port. Without
	// it the pairing rests on the hosts and the time alone.
	Rhythm bool
	// TLS is what the connection's own TLS records showed.
	TLS DataTLS

	recs [2]recordReader
	// tickets counts the TLS 1.3 server records taken for session
	// tickets; ticketLen is the length of the first.
	tickets, ticketLen int
}

// DataTLS summarises a data connection's TLS, read from record headers and
// the clear-text hello messages.
type DataTLS struct {
	// ClientHello is the first ClientHello; HelloFrom the TCP side that
	// sent it (the FTP client, the TCP server in active mode).
	ClientHello Event
	HelloFrom   Side
	// ServerHello is the first ServerHello that is not a HelloRetryRequest.
	ServerHello Event
	// Version is the negotiated version (0x0303, 0x0304), 0 if unknown.
	Version uint16
	// OfferedResumption is set when the ClientHello offered a session to
	// resume (a pre_shared_key or session ticket, or a TLS 1.2 session ID
	// without TLS 1.3); Resumed when the server resumed it.
	OfferedResumption, Resumed bool
	// Finished is the TLS client's first encrypted handshake record: the
	// handshake is complete on its side.
	Finished Event
	// Alert is the first alert sent in clear text, nil if none.
	Alert *TLSAlert
	// DataRecords counts, per TCP side, the records after the handshake
	// that carry application data (not session tickets nor alerts).
	DataRecords [2]int
	// NotTLS is set when the connection's first bytes are not a TLS
	// record (a data channel left in clear text, PROT C); Unread when its
	// records could not be followed (lost or cut segments, or more than
	// maxTLSRecords of them).
	NotTLS, Unread bool
}

// TLSAlert is an alert record read in clear text.
type TLSAlert struct {
	From        Side
	Level       uint8
	Description uint8
	Event
}

// TLSEnd says how a data connection's TLS ended, as its records tell.
type TLSEnd uint8

// The ways a data connection's TLS can end.
const (
	// TLSEndUnknown: no TLS followed (not TLS, unread, or still open).
	TLSEndUnknown TLSEnd = iota
	// TLSEndData: application data flowed.
	TLSEndData
	// TLSEndAlert: an alert in clear text ended the handshake.
	TLSEndAlert
	// TLSEndHandshake: closed after the ClientHello, before the handshake
	// completed, without an alert in clear text.
	TLSEndHandshake
	// TLSEndNoData: the handshake completed, then the connection closed
	// without application data.
	TLSEndNoData
)

var tlsEndNames = [...]string{"unknown", "data", "alert", "closed_in_handshake", "closed_after_handshake"}

// String returns the end's snake_case name.
func (e TLSEnd) String() string {
	if int(e) < len(tlsEndNames) {
		return tlsEndNames[e]
	}
	return "unknown"
}

// MarshalText spells the end as String does.
func (e TLSEnd) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// End says how the connection's TLS ended.
func (d *DataTLS) End(c *Conn) TLSEnd {
	switch {
	case d.NotTLS || !d.ClientHello.Seen():
		return TLSEndUnknown
	case d.DataRecords[Client] > 0 || d.DataRecords[Server] > 0:
		return TLSEndData
	case !c.Closed() && c.Reset == nil && !c.FIN[Client].Seen() && !c.FIN[Server].Seen():
		return TLSEndUnknown
	case d.Alert != nil && !d.Finished.Seen():
		return TLSEndAlert
	case !d.Finished.Seen() || !d.ServerHello.Seen():
		return TLSEndHandshake
	case d.Unread:
		return TLSEndUnknown
	}
	return TLSEndNoData
}

// VersionName returns "1.2", "1.3" or "" when unknown.
func (d *DataTLS) VersionName() string {
	switch d.Version {
	case tls12:
		return "1.2"
	case tls13:
		return "1.3"
	}
	return ""
}

// Encrypted returns what pairing with an encrypted session found of c, or
// nil when c is not paired with one.
func (c *Conn) Encrypted() *EncryptedConn { return c.enc }

// EncryptedOutcome says what became of a data connection of an encrypted
// session: Outcome, corrected by what its TLS records show. A connection
// whose TLS ended before any application data is closed_without_data
// (reset when a RST ended it); a RST after a FIN, the way many TLS stacks
// answer a late close_notify, does not make a transfer that carried data
// a failure.
func (c *Conn) EncryptedOutcome() Outcome {
	o := c.Outcome()
	e := c.enc
	if e == nil {
		return o
	}
	switch e.TLS.End(c) {
	case TLSEndAlert, TLSEndHandshake, TLSEndNoData:
		if o == OutcomeReset && !c.FIN[Client].Seen() && !c.FIN[Server].Seen() {
			return OutcomeReset
		}
		if o == OutcomeSYNRefused || o == OutcomeSYNUnanswered {
			return o
		}
		return OutcomeClosedWithoutData
	}
	if o == OutcomeReset && (c.FIN[Client].Seen() || c.FIN[Server].Seen()) && c.Bytes[Client]+c.Bytes[Server] > 0 {
		return OutcomeCompleted
	}
	return o
}

// controlRhythm follows the TLS records of an encrypted control
// connection: the last segment of payload each side sent.
type controlRhythm struct {
	last [2]Event
}

// note records a segment of payload from side.
func (r *controlRhythm) note(side Side, ev Event) { r.last[side] = ev }

// latest returns the most recent segment of payload and its sender.
func (r *controlRhythm) latest() (Event, Side) {
	if !r.last[Server].Seen() || (r.last[Client].Seen() && compareEvents(r.last[Client], r.last[Server]) > 0) {
		return r.last[Client], Client
	}
	return r.last[Server], Server
}

// newEncryptedConn pairs c with encrypted session s: its direction, and
// whether its timing fits the control connection's TLS rhythm.
func newEncryptedConn(s *Session, c *Conn) *EncryptedConn {
	e := &EncryptedConn{Mode: pairedMode(s, c)}
	if r := s.Control.rhythm; r != nil {
		e.ControlRecord, e.ControlFrom = r.latest()
	}
	if !e.ControlRecord.Seen() {
		return e
	}
	gap := c.First.Time.Sub(e.ControlRecord.Time)
	announcer, port := Server, c.Server.Port() // passive: the 227/229, to a high server port
	if e.Mode == ModeActive {
		announcer = Client // active: the transfer command, to the client's high port
	}
	e.Rhythm = e.ControlFrom == announcer && gap >= 0 && gap <= RhythmWindow && port >= highPort
	return e
}

// pairedMode says who opened a connection between the hosts of s: the FTP
// client (passive) or the FTP server (active). On one host (loopback) a
// connection from port 20 is active.
func pairedMode(s *Session, c *Conn) Mode {
	switch {
	case s.Client.Addr() != s.Server.Addr() && c.Client.Addr() == s.Server.Addr():
		return ModeActive
	case s.Client.Addr() == s.Server.Addr() && c.Client.Port() == 20:
		return ModeActive
	}
	return ModePassive
}

// observe follows the TLS records of a paired data connection's segment
// of payload from side, at relative sequence number rel. wire is the
// payload's length on the wire, p what the capture holds of it.
func (e *EncryptedConn) observe(side Side, rel int64, p []byte, wire int, ev Event) {
	rr := &e.recs[side]
	if rr.stopped || e.TLS.NotTLS {
		return
	}
	if !rr.started {
		rr.started, rr.next = true, rel
		if !looksLikeTLS(p) {
			if side == Client || !e.TLS.ClientHello.Seen() {
				e.TLS.NotTLS = true
			}
			rr.stopped = true
			return
		}
	}
	end := rel + int64(wire)
	switch {
	case end <= rr.next:
		return // a retransmission of what was read
	case rel > rr.next || len(p) < wire:
		rr.stopped, e.TLS.Unread = true, true // a hole, or a segment the snapshot length cut
		return
	}
	p = p[rr.next-rel:]
	rr.next = end
	rr.feed(p, func(typ byte, length int, body []byte) bool {
		return e.record(side, typ, length, body, ev)
	})
	if rr.stopped && !rr.done {
		e.TLS.Unread = true
	}
}

// record takes one record header (and as much of its body as this segment
// holds); it returns false to stop following the direction.
func (e *EncryptedConn) record(side Side, typ byte, length int, body []byte, ev Event) bool {
	d := &e.TLS
	switch typ {
	case recHandshake:
		e.handshake(side, body, ev)
	case recAlert:
		if length == 2 && len(body) == 2 && d.Alert == nil {
			d.Alert = &TLSAlert{From: side, Level: body[0], Description: body[1], Event: ev}
		}
	case recApplicationData:
		e.applicationData(side, length, ev)
	}
	return true
}

// handshake reads a clear-text handshake record: hellos, and in TLS 1.2
// the client's encrypted Finished after its ChangeCipherSpec.
func (e *EncryptedConn) handshake(side Side, body []byte, ev Event) {
	d := &e.TLS
	if e.recs[side].ccs && d.Version == tls12 {
		// TLS 1.2: a handshake record after the side's ChangeCipherSpec
		// is its encrypted Finished.
		if side == d.HelloFrom && !d.Finished.Seen() {
			d.Finished = ev
		}
		return
	}
	if len(body) < 1 {
		return
	}
	switch body[0] {
	case hsClientHello:
		if !d.ClientHello.Seen() {
			d.ClientHello, d.HelloFrom = ev, side
			var id []byte
			d.OfferedResumption, id = offersResumption(body)
			e.recs[side].helloID = bytes.Clone(id) // body is the capture's buffer
		}
	case hsServerHello:
		if d.ServerHello.Seen() || !d.ClientHello.Seen() || side == d.HelloFrom {
			return
		}
		sh, ok := parseServerHello(body)
		if !ok || sh.retry {
			return
		}
		d.ServerHello, d.Version = ev, sh.version
		d.Resumed = sh.psk || sh.version == tls12 && len(sh.sessionID) > 0 && bytes.Equal(sh.sessionID, clientSessionID(e))
		// A TLS 1.2 session ID is an offer only if the server takes it
		// (clients that also offer TLS 1.3 send a random one).
		d.OfferedResumption = d.OfferedResumption || d.Resumed
	}
}

// applicationData counts an application_data record: in TLS 1.3 the
// encrypted handshake, the session tickets and the alerts are
// application_data too, and are told apart by position, time and size.
func (e *EncryptedConn) applicationData(side Side, length int, ev Event) {
	d := &e.TLS
	if !d.ServerHello.Seen() {
		d.DataRecords[side]++ // unknown version: counted as data, not as an empty connection
		return
	}
	if d.Version != tls13 {
		if length > 0 {
			d.DataRecords[side]++
		}
		return
	}
	tlsClient := d.HelloFrom
	switch {
	case side == tlsClient && !d.Finished.Seen():
		d.Finished = ev
	case side == tlsClient && ev.Frame == d.Finished.Frame && ev.Input == d.Finished.Input:
		// the rest of the client's Finished flight
	case !d.Finished.Seen():
		// the server's encrypted handshake
	case length <= maxAlertRecord:
		// an encrypted alert (close_notify)
	case side != tlsClient && e.ticket(length, ev):
	default:
		d.DataRecords[side]++
	}
}

// ticket reports whether a TLS 1.3 server record after the handshake is a
// session ticket: one of the first few records, sent within ticketBurst of
// the client's Finished, the same length as the first.
func (e *EncryptedConn) ticket(length int, ev Event) bool {
	d := &e.TLS
	if e.tickets >= maxTickets || d.DataRecords[d.HelloFrom.Other()] > 0 || ev.Time.Sub(d.Finished.Time) > ticketBurst {
		return false
	}
	if e.tickets > 0 && length != e.ticketLen {
		return false
	}
	if e.tickets == 0 {
		e.ticketLen = length
	}
	e.tickets++
	return true
}

// recordReader follows the TLS record framing of one direction of a TCP
// connection, header by header, without keeping record bodies.
type recordReader struct {
	next    int64 // relative sequence number of the next byte to read
	left    int   // bytes of the current record's body still to skip
	hdr     [5]byte
	hdrN    int
	records int
	// helloID keeps the ClientHello's session ID (TLS 1.2 resumption).
	helloID                     []byte
	started, stopped, done, ccs bool
}

// feed reads p, the next bytes of the direction, calling rec for each
// record header with the part of its body p holds.
func (r *recordReader) feed(p []byte, rec func(typ byte, length int, body []byte) bool) {
	for len(p) > 0 && !r.stopped {
		if r.left > 0 {
			n := min(r.left, len(p))
			r.left -= n
			p = p[n:]
			continue
		}
		n := copy(r.hdr[r.hdrN:], p)
		r.hdrN += n
		p = p[n:]
		if r.hdrN < len(r.hdr) {
			return
		}
		r.hdrN = 0
		typ, length := r.hdr[0], int(r.hdr[3])<<8|int(r.hdr[4])
		if !tlsRecordType(typ) || r.hdr[1] != 3 {
			r.stopped = true // lost the framing
			return
		}
		if typ == recChangeCipherSpec {
			r.ccs = true
		}
		body := p[:min(length, len(p))]
		r.left = length
		if r.records++; r.records > maxTLSRecords || !rec(typ, length, body) {
			r.stopped, r.done = true, true
			return
		}
	}
}

// offersResumption reports whether a ClientHello message offers a session
// to resume: a pre_shared_key extension, a non-empty session ticket, or a
// session ID when TLS 1.3 is not offered (TLS 1.3 clients send a random
// one for compatibility). It returns the session ID too.
func offersResumption(m []byte) (bool, []byte) {
	h, ok := parseClientHello(m)
	if !ok {
		return false, nil
	}
	return h.psk || h.ticket || !h.tls13 && len(h.sessionID) > 0, h.sessionID
}

// clientSessionID returns the session ID of the connection's ClientHello,
// as kept by the reader of the side that sent it.
func clientSessionID(e *EncryptedConn) []byte { return e.recs[e.TLS.HelloFrom].helloID }

type clientHello struct {
	sessionID          []byte
	psk, ticket, tls13 bool
}

// parseClientHello reads what resumption needs of a ClientHello message
// (type, 3-byte length, then the body): false when the segment cut it.
func parseClientHello(m []byte) (clientHello, bool) {
	var h clientHello
	b := cursor(m)
	if !b.skip(4+2+32) || !b.vector8(&h.sessionID) {
		return h, false
	}
	var suites, comp, exts []byte
	if !b.vector16(&suites) || !b.vector8(&comp) || !b.vector16(&exts) {
		return h, false
	}
	for e := cursor(exts); len(e) >= 4; {
		typ := int(e[0])<<8 | int(e[1])
		var data []byte
		if !e.skip(2) || !e.vector16(&data) {
			break
		}
		switch typ {
		case extPreSharedKey:
			h.psk = true
		case extSessionTicket:
			h.ticket = len(data) > 0
		case extSupportedVersion:
			h.tls13 = bytes.Contains(data, []byte{0x03, 0x04})
		}
	}
	return h, true
}

type serverHello struct {
	version    uint16
	sessionID  []byte
	retry, psk bool
}

// parseServerHello reads a ServerHello message: its version (from
// supported_versions when present), session ID, whether it is a
// HelloRetryRequest and whether it accepted a pre-shared key.
func parseServerHello(m []byte) (serverHello, bool) {
	var h serverHello
	b := cursor(m)
	if len(b) < 4+2+32 {
		return h, false
	}
	h.version = uint16(b[4])<<8 | uint16(b[5])
	h.retry = bytes.Equal(b[6:38], helloRetryRandom)
	b = b[38:]
	if !b.vector8(&h.sessionID) || !b.skip(3) {
		return h, false
	}
	var exts []byte
	if !b.vector16(&exts) {
		return h, true // no extensions: TLS 1.2 or older
	}
	for e := cursor(exts); len(e) >= 4; {
		typ := int(e[0])<<8 | int(e[1])
		var data []byte
		if !e.skip(2) || !e.vector16(&data) {
			break
		}
		switch {
		case typ == extPreSharedKey:
			h.psk = true
		case typ == extSupportedVersion && len(data) == 2:
			h.version = uint16(data[0])<<8 | uint16(data[1])
		}
	}
	return h, true
}

// cursor reads a TLS message front to back.
type cursor []byte

func (c *cursor) skip(n int) bool {
	if len(*c) < n {
		return false
	}
	*c = (*c)[n:]
	return true
}

func (c *cursor) vector8(out *[]byte) bool {
	if len(*c) < 1 || len(*c) < 1+int((*c)[0]) {
		return false
	}
	n := int((*c)[0])
	*out = (*c)[1 : 1+n]
	*c = (*c)[1+n:]
	return true
}

func (c *cursor) vector16(out *[]byte) bool {
	if len(*c) < 2 {
		return false
	}
	n := int((*c)[0])<<8 | int((*c)[1])
	if len(*c) < 2+n {
		return false
	}
	*out = (*c)[2 : 2+n]
	*c = (*c)[2+n:]
	return true
}
