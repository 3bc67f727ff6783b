package tlsdecrypt

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Bounds of a Conn, per direction.
const (
	// MaxRecordLen is the longest record fragment accepted (the length
	// field of the record header): 2^14 bytes of plaintext plus 256 of
	// protection (RFC 8446 section 5.2; TLS 1.2's AEAD suites add 24).
	MaxRecordLen = 1<<14 + 256

	// MaxBuffered is the most bytes a direction holds before decrypting
	// them: a record cut across segments, or records waiting for the
	// other direction's hello when the two directions are fed out of
	// order.
	MaxBuffered = 1 << 17

	// MaxPlaintextBuffered is the most decrypted bytes a direction holds
	// until Take; beyond, they are dropped and counted in Status.Dropped.
	MaxPlaintextBuffered = 1 << 20
)

// Record content types (RFC 8446 section 5.1).
const (
	recChangeCipherSpec = 20
	recAlert            = 21
	recHandshake        = 22
	recApplicationData  = 23
	recHeartbeat        = 24
)

// Direction is who sent a byte stream.
type Direction uint8

// The two directions of a connection.
const (
	ClientToServer Direction = iota // sent by the TLS client (FTP commands)
	ServerToClient                  // sent by the TLS server (FTP replies)
)

// String names the sender: "client" or "server".
func (d Direction) String() string {
	switch d {
	case ClientToServer:
		return "client"
	case ServerToClient:
		return "server"
	}
	return "direction(" + strconv.Itoa(int(d)) + ")"
}

// State is how far a Conn got.
type State uint8

// States of a Conn. The first two are not failures; the others stop the
// reading: of both directions when found in the hellos (StateNoHandshake,
// StateUnsupported, StateNoKeys), else of the direction they were found in
// (StateMalformed, StateDecryptError, and StateNoKeys when a TLS 1.3 key
// log lacks one side's traffic secret).
const (
	StateHandshake    State = iota // the hellos are not both read yet
	StateDecrypting                // keys found; records are being decrypted
	StateNoHandshake               // the stream does not start with a hello: the capture began after the handshake
	StateNoKeys                    // the key log has no secrets for this connection (or none was given)
	StateUnsupported               // a TLS version or cipher suite this package cannot decrypt
	StateMalformed                 // bytes that are not TLS records, a bad hello, or a bound exceeded
	StateDecryptError              // a record failed authentication: a wrong secret, or bytes missing from the stream
)

var stateNames = [...]string{
	StateHandshake:    "handshake",
	StateDecrypting:   "decrypting",
	StateNoHandshake:  "no_handshake",
	StateNoKeys:       "no_keys",
	StateUnsupported:  "unsupported",
	StateMalformed:    "malformed",
	StateDecryptError: "decrypt_error",
}

// String is the state's stable snake_case name, as in JSON.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText spells the state as String does.
func (s State) MarshalText() ([]byte, error) {
	if int(s) >= len(stateNames) {
		return nil, fmt.Errorf("tlsdecrypt: unknown State %d", s)
	}
	return []byte(s.String()), nil
}

// Sentinel errors wrapped by *Error, for errors.Is.
var (
	// ErrNoKeys: the key log has no secret, or not all the secrets, for
	// the connection's client random (StateNoKeys).
	ErrNoKeys = errors.New("no secrets for this connection in the key log")
	// ErrUnsupported: a TLS version or cipher suite this package does not
	// decrypt (StateUnsupported).
	ErrUnsupported = errors.New("not decryptable by this package")
)

// Error is why a Conn stopped. It never holds a secret.
type Error struct {
	State  State
	Dir    Direction // the direction the problem was seen in
	Record int       // 1-based number of the record in Dir; 0 when not about one record
	Offset int64     // offset in Dir's stream of that record's first byte
	Err    error
}

// Error reads like "server record 7 at offset 1234: decrypt_error: record
// authentication failed (sequence number 5)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Dir.String())
	if e.Record > 0 {
		fmt.Fprintf(&b, " record %d at offset %d", e.Record, e.Offset)
	}
	fmt.Fprintf(&b, ": %s: %v", e.State, e.Err)
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Alert is a TLS alert (RFC 8446 section 6).
type Alert struct {
	Level       uint8 // 1 warning, 2 fatal (meaningless in TLS 1.3)
	Description uint8 // 0 close_notify, 40 handshake_failure, ...
}

var alertNames = map[uint8]string{
	0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
	40: "handshake_failure", 42: "bad_certificate", 43: "unsupported_certificate",
	44: "certificate_revoked", 45: "certificate_expired", 46: "certificate_unknown",
	47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied", 50: "decode_error",
	51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security",
	80: "internal_error", 86: "inappropriate_fallback", 90: "user_canceled",
	100: "no_renegotiation", 109: "missing_extension", 110: "unsupported_extension",
	112: "unrecognized_name", 113: "bad_certificate_status_response",
	115: "unknown_psk_identity", 116: "certificate_required", 120: "no_application_protocol",
}

// String names the alert: "fatal handshake_failure (40)".
func (a Alert) String() string {
	level := "level " + strconv.Itoa(int(a.Level))
	switch a.Level {
	case 1:
		level = "warning"
	case 2:
		level = "fatal"
	}
	name := alertNames[a.Description]
	if name == "" {
		name = "alert"
	}
	return fmt.Sprintf("%s %s (%d)", level, name, a.Description)
}

// Status is what a Conn knows of its connection. Nothing in it is secret.
type Status struct {
	State        State
	Version      uint16     // chosen by the ServerHello (0x0303 TLS 1.2, 0x0304 TLS 1.3); 0 before
	CipherSuite  uint16     // chosen by the ServerHello; 0 before
	ClientRandom [32]byte   // from the ClientHello, the connection's name in a key log; zero before
	Records      [2]int     // records read, by Direction
	Plaintext    [2]int64   // application data bytes decrypted, by Direction
	Dropped      [2]int64   // of those, dropped for want of Take (MaxPlaintextBuffered)
	Alerts       [2][]Alert // the first alerts seen, by Direction
	KeyUpdates   [2]int     // TLS 1.3 KeyUpdate messages read, by Direction
	Closed       [2]bool    // close_notify seen; the direction's later bytes are passed on as they are
	Err          error      // the first *Error; nil in StateHandshake and StateDecrypting
}

// String summarises the status on one line: "TLS 1.3
// TLS_AES_128_GCM_SHA256: decrypting".
func (s Status) String() string {
	if s.Version == 0 {
		if s.Err != nil {
			return s.Err.Error()
		}
		return s.State.String()
	}
	head := VersionName(s.Version) + " " + SuiteName(s.CipherSuite)
	if s.Err != nil {
		return head + ": " + s.Err.Error()
	}
	return head + ": " + s.State.String()
}

// Conn decrypts the records of one TLS connection, fed as the two TCP
// byte streams, each in order. The zero value is not usable; call NewConn.
//
// Call order: Feed either direction's bytes as they come, in any
// segmentation and in any interleaving of the directions (a record that
// needs the other direction's hello waits for it, up to MaxBuffered); after
// each Feed, Take both directions' application data. What Take gives after
// a Feed was completed by that Feed's bytes, so a caller can credit it to
// the segment (frame) fed; in the other direction, by the bytes fed there
// last, whose records had waited for this direction's hello. A Conn is not
// safe for concurrent use.
type Conn struct {
	keys *KeyLog
	h    [2]half

	haveCR, haveSR bool
	cr, sr         [32]byte
	version        uint16
	suiteID        uint16
	suite          *suite
	sec            *secrets
	k12            [2]keys12
	ready          bool   // keys derived: encrypted records can be opened
	err            *Error // failure of the whole connection
}

// half is one direction of a Conn.
type half struct {
	dir     Direction
	buf     []byte // bytes not yet consumed: a partial record, or records waiting for keys
	off     int64  // stream offset of buf[0]
	records int
	hs      hsReader
	prot    *protector
	app     bool // TLS 1.3: this side's Finished was read, it now uses application keys
	updates int  // TLS 1.3 KeyUpdates read
	out     []byte
	plain   int64
	dropped int64
	alerts  []Alert
	closed  bool   // close_notify read
	clear   bool   // after close_notify, bytes that are not TLS records: passed on as they are
	err     *Error // failure of this direction
}

// maxAlerts is the most alerts kept per direction (a peer sends one or
// two before closing).
const maxAlerts = 8

// NewConn returns a Conn that takes its secrets from keys, which may be
// nil: the Conn then reads the hellos and stops in StateNoKeys.
func NewConn(keys *KeyLog) *Conn {
	c := &Conn{keys: keys}
	c.h[ServerToClient].dir = ServerToClient
	return c
}

// Feed adds the next bytes of dir's stream, and decrypts what they
// complete. It returns the *Error that stopped dir (or the whole
// connection), now or earlier; later bytes of a stopped direction are
// ignored. After a close_notify, dir's bytes are passed on to Take as they
// are, unless they start with a TLS record: a protocol may go on in clear
// (FTP's CCC command, RFC 4217).
// Feed keeps no reference to data.
func (c *Conn) Feed(dir Direction, data []byte) error {
	if dir > ServerToClient {
		return fmt.Errorf("tlsdecrypt: invalid direction %d", dir)
	}
	h := &c.h[dir]
	if err := c.failure(dir); err != nil {
		return err
	}
	if h.clear {
		c.emit(h, data)
		return nil
	}
	h.buf = append(h.buf, data...)
	c.process(h)
	if o := &c.h[1-dir]; len(o.buf) > 0 && c.failure(o.dir) == nil {
		c.process(o) // records that waited for this direction's hello
	}
	if len(h.buf) > MaxBuffered && c.failure(dir) == nil {
		c.fail(h, StateMalformed, 0, fmt.Errorf("%d bytes wait undecrypted, more than %d (MaxBuffered)", len(h.buf), MaxBuffered))
	}
	return c.failure(dir)
}

// Take returns the application data decrypted in dir since the last Take
// (with, after a close_notify, the bytes that followed it). The slice is
// the caller's.
func (c *Conn) Take(dir Direction) []byte {
	if dir > ServerToClient {
		return nil
	}
	h := &c.h[dir]
	out := h.out
	h.out = nil
	return out
}

// Status reports what c knows of the connection.
func (c *Conn) Status() Status {
	s := Status{
		Version:      c.version,
		CipherSuite:  c.suiteID,
		ClientRandom: c.cr,
	}
	for d := range c.h {
		h := &c.h[d]
		s.Records[d] = h.records
		s.Plaintext[d] = h.plain
		s.Dropped[d] = h.dropped
		s.Alerts[d] = append([]Alert(nil), h.alerts...)
		s.KeyUpdates[d] = h.updates
		s.Closed[d] = h.closed
	}
	var first *Error
	switch {
	case c.err != nil:
		first = c.err
	case c.h[0].err != nil:
		first = c.h[0].err
	case c.h[1].err != nil:
		first = c.h[1].err
	}
	switch {
	case first != nil:
		s.State, s.Err = first.State, first
	case c.ready:
		s.State = StateDecrypting
	default:
		s.State = StateHandshake
	}
	return s
}

// failure is the error that stopped dir, or nil.
func (c *Conn) failure(dir Direction) error {
	if c.err != nil {
		return c.err
	}
	if e := c.h[dir].err; e != nil {
		return e
	}
	return nil
}

// fail stops h's direction at the record being read, if rec > 0.
func (c *Conn) fail(h *half, st State, rec int, err error) {
	c.stop(h, st, rec, err, false)
}

// failAll stops the whole connection, for a reason found in h's direction.
func (c *Conn) failAll(h *half, st State, rec int, err error) {
	c.stop(h, st, rec, err, true)
}

func (c *Conn) stop(h *half, st State, rec int, err error, all bool) {
	e := &Error{State: st, Dir: h.dir, Err: err}
	if rec > 0 {
		e.Record, e.Offset = rec, h.off
	}
	if all {
		c.err = e
	} else {
		h.err = e
	}
	// A stopped direction keeps nothing.
	for d := range c.h {
		if c.failure(Direction(d)) != nil {
			c.h[d].buf = nil
		}
	}
}

// process reads h's complete records, stopping at a partial one, at one
// that waits for keys, or at a failure.
func (c *Conn) process(h *half) {
	pos := 0
	for c.failure(h.dir) == nil && len(h.buf) > pos {
		if h.closed && !h.clear && (h.buf[pos] < recChangeCipherSpec || h.buf[pos] > recHeartbeat) {
			h.clear = true
		}
		if h.clear {
			c.emit(h, h.buf[pos:])
			h.off += int64(len(h.buf) - pos)
			pos = len(h.buf)
			break
		}
		if len(h.buf)-pos < 5 {
			break
		}
		hdr := h.buf[pos : pos+5]
		typ := hdr[0]
		n := int(hdr[3])<<8 | int(hdr[4])
		rec := h.records + 1
		switch {
		case typ < recChangeCipherSpec || typ > recHeartbeat:
			c.fail(h, StateMalformed, rec, fmt.Errorf("not a TLS record: content type %d", typ))
		case hdr[1] != 3 || hdr[2] > 4:
			c.fail(h, StateMalformed, rec, fmt.Errorf("not a TLS record: version 0x%02x%02x", hdr[1], hdr[2]))
		case n > MaxRecordLen:
			c.fail(h, StateMalformed, rec, fmt.Errorf("record of %d bytes exceeds %d (MaxRecordLen)", n, MaxRecordLen))
		}
		if c.failure(h.dir) != nil || len(h.buf)-pos < 5+n {
			break
		}
		if c.record(h, rec, h.buf[pos:pos+5+n]) {
			break // waits for the other direction
		}
		pos += 5 + n
		h.off += int64(5 + n)
		h.records = rec
	}
	if c.failure(h.dir) != nil {
		return // fail dropped the buffer
	}
	switch rest := len(h.buf) - pos; {
	case pos == 0:
		// Nothing consumed: a partial record, fed perhaps a byte at a time.
	case cap(h.buf) > 2*MaxBuffered && rest < MaxBuffered:
		h.buf = append([]byte(nil), h.buf[pos:]...) // let a large feed's array go
	default:
		h.buf = h.buf[:copy(h.buf, h.buf[pos:])]
	}
}

// record reads one complete record, number rec of h's direction. It
// returns true if the record must wait for keys, which the other
// direction's hello will bring.
func (c *Conn) record(h *half, rec int, r []byte) (wait bool) {
	typ, body := r[0], r[5:]
	if rec == 1 && typ != recHandshake && typ != recAlert {
		c.failAll(h, StateNoHandshake, rec, fmt.Errorf("the first record is of type %d, not a handshake: the stream starts after the TLS handshake", typ))
		return false
	}
	tls13 := c.suite != nil && c.suite.tls13
	if h.prot == nil || (tls13 && typ != recApplicationData) {
		// In clear: the hellos and what precedes the ChangeCipherSpec (TLS
		// 1.2); in TLS 1.3 every record but application_data.
		if len(body) > maxPlaintextLen {
			c.fail(h, StateMalformed, rec, fmt.Errorf("record of %d bytes in clear exceeds 2^14", len(body)))
			return false
		}
		switch typ {
		case recHandshake:
			c.handshake(h, rec, body, false)
		case recAlert:
			c.alert(h, body)
		case recChangeCipherSpec:
			if h.dir == ServerToClient && !c.haveSR {
				return false // TLS 1.3's compatibility one, after a HelloRetryRequest
			}
			if !c.ready {
				return true
			}
			if !tls13 {
				p, err := newProtector12(c.suite, c.k12[h.dir])
				if err != nil {
					c.fail(h, StateUnsupported, rec, err)
					return false
				}
				h.prot = p
			}
		case recApplicationData:
			if !c.ready {
				return true
			}
			c.fail(h, StateMalformed, rec, errors.New("application data before ChangeCipherSpec"))
		}
		return false
	}
	typ, plain, err := h.prot.open(r[:5], body)
	if err != nil {
		st := StateMalformed
		if errors.Is(err, ErrDecrypt) {
			st = StateDecryptError
		}
		c.fail(h, st, rec, err)
		return false
	}
	switch typ {
	case recApplicationData:
		c.emit(h, plain)
	case recHandshake:
		c.handshake(h, rec, plain, true)
	case recAlert:
		c.alert(h, plain)
	}
	return false
}

// handshake reads handshake messages from a record's content.
func (c *Conn) handshake(h *half, rec int, data []byte, encrypted bool) {
	err := h.hs.feed(data, func(typ uint8, body []byte) error {
		if c.failure(h.dir) != nil {
			return errStopped
		}
		switch {
		case typ == hsClientHello && h.dir == ClientToServer && !c.haveCR:
			cr, err := parseClientHello(body)
			if err != nil {
				return err
			}
			c.cr, c.haveCR = cr, true
			c.setup(h, rec)
		case typ == hsServerHello && h.dir == ServerToClient && !c.haveSR:
			sh, err := parseServerHello(body)
			if err != nil {
				return err
			}
			if sh.random == hrrRandom {
				return nil // a HelloRetryRequest: the real ServerHello follows
			}
			c.sr, c.version, c.suiteID, c.haveSR = sh.random, sh.version, sh.suite, true
			c.setup(h, rec)
		case typ == hsFinished && encrypted && c.suite.tls13 && !h.app:
			secret := c.sec.clientAP
			if h.dir == ServerToClient {
				secret = c.sec.serverAP
			}
			if secret == nil {
				label := labelClientAP
				if h.dir == ServerToClient {
					label = labelServerAP
				}
				c.fail(h, StateNoKeys, rec, fmt.Errorf("%w: the key log has the handshake secrets but no %s for client random %x", ErrNoKeys, label, c.cr))
				return nil
			}
			if err := c.setSecret(h, secret); err != nil {
				c.fail(h, StateNoKeys, rec, err)
				return nil
			}
			h.app = true
		case typ == hsKeyUpdate && encrypted && c.suite.tls13 && h.app:
			if err := h.prot.update(); err != nil {
				c.fail(h, StateUnsupported, rec, err)
			}
			h.updates++
		}
		return nil
	})
	if err != nil && c.failure(h.dir) == nil {
		c.fail(h, StateMalformed, rec, err)
	}
}

// errStopped ends the reading of a record's messages once a message
// stopped the direction.
var errStopped = errors.New("stopped")

// setSecret moves a TLS 1.3 direction to a traffic secret.
func (c *Conn) setSecret(h *half, secret []byte) error {
	if len(secret) != c.suite.hashSz {
		return fmt.Errorf("%w: a secret of client random %x is %d bytes, but %s needs %d", ErrNoKeys, c.cr, len(secret), SuiteName(c.suiteID), c.suite.hashSz)
	}
	p, err := newProtector13(c.suite, secret)
	if err != nil {
		return err
	}
	h.prot = p
	return nil
}

// setup derives the keys once both hellos are read.
func (c *Conn) setup(h *half, rec int) {
	if !c.haveCR || !c.haveSR || c.ready {
		return
	}
	tls13 := c.version == versionTLS13
	if c.version != versionTLS12 && !tls13 {
		c.failAll(h, StateUnsupported, rec, fmt.Errorf("%w: %s (only TLS 1.2 and 1.3 are)", ErrUnsupported, VersionName(c.version)))
		return
	}
	c.suite = suiteByID(c.suiteID, tls13)
	if c.suite == nil {
		c.failAll(h, StateUnsupported, rec, fmt.Errorf("%w: cipher suite %s (0x%04x) with %s", ErrUnsupported, SuiteName(c.suiteID), c.suiteID, VersionName(c.version)))
		return
	}
	c.sec = c.keys.lookup(c.cr)
	if !tls13 {
		if c.sec == nil || c.sec.master == nil {
			c.failAll(h, StateNoKeys, rec, fmt.Errorf("%w: no %s line for client random %s", ErrNoKeys, labelClientRandom, hex.EncodeToString(c.cr[:])))
			return
		}
		c.k12[ClientToServer], c.k12[ServerToClient] = keyBlock12(c.suite, c.sec.master, c.cr, c.sr)
		c.ready = true
		return
	}
	if c.sec == nil || c.sec.clientHS == nil || c.sec.serverHS == nil {
		c.failAll(h, StateNoKeys, rec, fmt.Errorf("%w: no %s and %s lines for client random %s", ErrNoKeys, labelClientHS, labelServerHS, hex.EncodeToString(c.cr[:])))
		return
	}
	for d, secret := range [2][]byte{c.sec.clientHS, c.sec.serverHS} {
		if err := c.setSecret(&c.h[d], secret); err != nil {
			c.failAll(h, StateNoKeys, rec, err)
			return
		}
	}
	c.ready = true
}

// alert records an alert; a close_notify ends the direction's TLS.
func (c *Conn) alert(h *half, body []byte) {
	if len(body) != 2 {
		return // fragmented or padded alerts are not worth reading
	}
	a := Alert{Level: body[0], Description: body[1]}
	if len(h.alerts) < maxAlerts {
		h.alerts = append(h.alerts, a)
	}
	if a.Description == 0 {
		h.closed = true
	}
}

// emit hands application data to Take, within MaxPlaintextBuffered.
func (c *Conn) emit(h *half, b []byte) {
	h.plain += int64(len(b))
	room := MaxPlaintextBuffered - len(h.out)
	if len(b) > room {
		h.dropped += int64(len(b) - room)
		b = b[:room]
	}
	h.out = append(h.out, b...)
}
