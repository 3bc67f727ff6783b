package ftpflow

import (
	"net/netip"

	"ftpdiag/tlsdecrypt"
)

// OfferKind names the command or reply that announced a data endpoint.
type OfferKind uint8

// The ways a data endpoint is announced: passive replies from the server,
// active commands from the client.
const (
	OfferPASV OfferKind = iota + 1 // 227 reply to PASV (RFC 959)
	OfferEPSV                      // 229 reply to EPSV (RFC 2428)
	OfferLPSV                      // 228 reply to LPSV (RFC 1639)
	OfferPORT                      // PORT command (RFC 959)
	OfferEPRT                      // EPRT command (RFC 2428)
	OfferLPRT                      // LPRT command (RFC 1639)
)

var offerKindNames = [...]string{"", "PASV", "EPSV", "LPSV", "PORT", "EPRT", "LPRT"}

// String returns the command's name, e.g. "PASV".
func (k OfferKind) String() string {
	if int(k) < len(offerKindNames) && k != 0 {
		return offerKindNames[k]
	}
	return "unknown"
}

// MarshalText spells the kind as String does.
func (k OfferKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Passive reports whether the server announced the endpoint (the client
// connects) rather than the client (the server connects).
func (k OfferKind) Passive() bool { return k == OfferPASV || k == OfferEPSV || k == OfferLPSV }

// Mode is how a transfer's data connection is set up.
type Mode uint8

// The transfer modes.
const (
	ModeUnknown Mode = iota // no endpoint was announced for the transfer
	ModePassive             // the client connects to the server (PASV, EPSV, LPSV)
	ModeActive              // the server connects to the client (PORT, EPRT, LPRT)
)

// String returns "passive", "active" or "unknown".
func (m Mode) String() string {
	switch m {
	case ModePassive:
		return "passive"
	case ModeActive:
		return "active"
	}
	return "unknown"
}

// MarshalText spells the mode as String does.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// ReplyRecord is a server reply as it appeared on the control connection.
type ReplyRecord struct {
	Code int
	Text string
	// Incomplete: a multi-line reply whose closing line never came, ended
	// by the client's next command or by the end of the capture.
	Incomplete bool
	Event
}

// Offer is one announcement of a data endpoint.
type Offer struct {
	// ID numbers the session's offers from 1.
	ID   int
	Kind OfferKind
	// Endpoint is the announced address and port. For EPSV, which
	// announces only a port, the address is the control connection's
	// server address.
	Endpoint netip.AddrPort
	// Line is the reply text (passive) or command argument (active).
	Line string
	Event
	// Answer is the server's reply to a PORT/EPRT/LPRT command (nil when
	// none was seen).
	Answer *ReplyRecord
	// Conns lists the TCP connections made to the endpoint, in order.
	Conns []*Conn
	// Transfers lists the transfer commands that used the offer.
	Transfers []*Transfer

	session *Session
}

// Passive reports whether the server announced the endpoint.
func (o *Offer) Passive() bool { return o.Kind.Passive() }

// InvalidOffer is an endpoint announcement that could not be parsed.
type InvalidOffer struct {
	Kind OfferKind
	Line string
	Err  string
	// Answer is the server's reply to an unreadable PORT, EPRT or LPRT
	// (nil for a passive reply, or when none came).
	Answer *ReplyRecord
	Event
}

// Transfer is one command that moves data over a data connection (LIST,
// NLST, MLSD, RETR, STOR, STOU, APPE) with what the capture shows of it.
type Transfer struct {
	// ID numbers the session's transfers from 1.
	ID      int
	Command string
	Arg     string
	Event
	Mode Mode
	// Offer is the newest endpoint announced before the command (nil when
	// none was).
	Offer *Offer
	// Data is the data connection chosen for the transfer: the one that
	// carried the data, or the last attempt. Nil when none was seen.
	Data *Conn
	// Attempts lists every connection made to the offer's endpoint,
	// Data included.
	Attempts []*Conn
	// Replies are the replies that framed the transfer: preliminary (1xx)
	// then the final one.
	Replies []ReplyRecord
	// Refusal is the server's refusal of the PASV/EPSV/LPSV sent just
	// before the command, when it was refused (nil otherwise).
	Refusal *Refusal
	// Restart is the REST offset sent before the command, -1 if none.
	Restart int64
	// ExpectedSize is the size the server announced (SIZE reply or 150
	// text), -1 if unknown.
	ExpectedSize int64
	// Aborted is set when the client sent ABOR during the transfer.
	Aborted bool
	// Outcome says what became of the data connection.
	Outcome Outcome
	// Status is the control channel's verdict.
	Status Status
}

// Final returns the final (non-1xx) reply, or nil.
func (t *Transfer) Final() *ReplyRecord {
	for i := len(t.Replies) - 1; i >= 0; i-- {
		if t.Replies[i].Code >= 200 {
			return &t.Replies[i]
		}
	}
	return nil
}

// Preliminary returns the first 1xx reply, or nil.
func (t *Transfer) Preliminary() *ReplyRecord {
	for i := range t.Replies {
		if t.Replies[i].Code < 200 {
			return &t.Replies[i]
		}
	}
	return nil
}

// Upload reports whether data flows from the FTP client to the server.
func (t *Transfer) Upload() bool {
	switch t.Command {
	case "STOR", "STOU", "APPE":
		return true
	}
	return false
}

// Refusal is a passive-mode request the server refused.
type Refusal struct {
	// Command is "PASV", "EPSV" or "LPSV".
	Command string
	Event
	Reply ReplyRecord
}

// TLSInfo records the switch of the control connection to TLS, or to
// another RFC 2228 protection (AUTH GSSAPI).
type TLSInfo struct {
	// Command is the AUTH command as sent, e.g. "AUTH TLS"; empty when
	// the capture holds none (Before).
	Command string
	// Request is the AUTH command; Accepted the 234 reply (TLS), the 235
	// reply that ended the ADAT exchange (RFC 2228), or where the
	// protection was first seen when the capture holds no acceptance.
	Request  Event
	Accepted Event
	// RFC2228 is set for a protection other than TLS (AUTH GSSAPI, as
	// GridFTP uses): commands travel wrapped in MIC, ENC or CONF commands
	// and replies in 631, 632 or 633 replies, unreadable without the keys.
	RFC2228 bool
	// Before is set when the channel was already protected where the
	// capture began: its first bytes are TLS records, or protected
	// commands came with no acceptance in the capture.
	Before bool
	// Handshake is the first TLS record seen on the control connection.
	Handshake Event
	// ClearAgain is where clear-text FTP resumed after TLS (CCC or a TLS
	// close), if it did.
	ClearAgain Event
	// Decryption says how far the TLS records could be read, with the
	// key log of Config.KeyLog or without one; nil when no TLS record was
	// seen (RFC 2228, or a capture that ends before the handshake).
	Decryption *TLSDecryption
}

// TLSDecryption is what decrypting an FTPS control channel gave. Nothing
// in it is secret.
type TLSDecryption struct {
	// Version and CipherSuite are those the ServerHello chose (0x0304
	// TLS 1.3, 0x1302 TLS_AES_256_GCM_SHA384, ...); 0 when it was not
	// seen.
	Version, CipherSuite uint16
	// State is how far decryption went: tlsdecrypt.StateDecrypting when
	// every record was read, else why it stopped (StateNoKeys,
	// StateDecryptError, ...) or StateHandshake when the hellos were not
	// both seen.
	State tlsdecrypt.State
	// Problem says, when decryption stopped, why and where (which
	// record), in words that hold no secret; empty otherwise.
	Problem string
	// KeyLog reports that secrets were given at all (a key log file or a
	// pcapng Decryption Secrets Block), whether or not this session's.
	KeyLog bool
	// Plaintext counts the decrypted bytes of each Side.
	Plaintext [2]int64
}

// Decrypted reports whether the TLS control channel was read in full
// with the key log: the hellos read, every record decrypted, nothing
// missing from the capture.
func (d *TLSDecryption) Decrypted() bool {
	return d != nil && d.State == tlsdecrypt.StateDecrypting
}

// VersionName names Version ("TLS 1.3"), empty when unknown.
func (d *TLSDecryption) VersionName() string {
	if d == nil || d.Version == 0 {
		return ""
	}
	return tlsdecrypt.VersionName(d.Version)
}

// SuiteName names CipherSuite ("TLS_AES_256_GCM_SHA384"), empty when
// unknown.
func (d *TLSDecryption) SuiteName() string {
	if d == nil || d.CipherSuite == 0 {
		return ""
	}
	return tlsdecrypt.SuiteName(d.CipherSuite)
}

// Session is one FTP control connection with everything it announced and
// the data connections linked to it.
type Session struct {
	// ID numbers sessions from 1 in the order they were recognised as FTP:
	// at the first packet of a control connection to port 21, at the
	// client's first command on another port.
	ID      int
	Control *Conn
	// Client and Server are the control connection's endpoints.
	Client, Server netip.AddrPort
	// DetectedBy is "port" (port 21) or "content" (a 220 greeting answered
	// by FTP commands on another port).
	DetectedBy string
	// Greeting is the server's first reply (usually 220), nil if unseen.
	Greeting *ReplyRecord
	// User is the first USER argument.
	User string
	// TLS is set when the client asked for TLS (AUTH).
	TLS *TLSInfo
	// Offers lists every endpoint announcement, used or not.
	Offers []*Offer
	// InvalidOffers lists announcements that could not be parsed.
	InvalidOffers []InvalidOffer
	// Transfers lists the transfer commands in order.
	Transfers []*Transfer
	// Refusals lists PASV/EPSV/LPSV requests answered with an error.
	Refusals []*Refusal
	// Unpaired lists replies that answered no command seen in the capture
	// (an unsolicited 421, or replies to commands sent before it started).
	Unpaired []ReplyRecord
	// EncryptedData lists connections between the two hosts that began
	// while the control channel was encrypted, so their endpoints could
	// not be read: the fallback pairing by hosts and timing.
	EncryptedData []*Conn
	// Log lists the control dialogue line by line (commands and complete
	// replies), at most maxLog entries; LogDropped counts the rest.
	Log        []LogEntry
	LogDropped int
	// Quit is the QUIT command, if seen.
	Quit Event
	// Commands and Replies count the control lines parsed.
	Commands, Replies int
	// BadLines counts client lines that are not commands and server lines
	// outside a reply.
	BadLines int
	// LongLines counts lines longer than maxLineLen (cut, not dropped).
	LongLines int
	// Gaps counts holes in the control stream per side (bytes the capture
	// lacks); GapBytes sums their sizes when known.
	Gaps     [2]int
	GapBytes [2]int64
	// Dropped counts what the per-session bounds kept out (see Dropped).
	Dropped Dropped
}

// LogEntry is one command or reply of the control dialogue.
type LogEntry struct {
	// From is Client for a command, Server for a reply.
	From Side
	// Verb and Arg are the command's (From == Client).
	Verb, Arg string
	// Secret marks a client line that may hold a password, read after a
	// hole in the capture (the rest of a PASS line whose start was lost,
	// or anything after a USER until the next reply): its text is not
	// kept (Verb and Arg are empty). Show client lines with CommandLine.
	Secret bool
	// Code and Text are the reply's (From == Server); Incomplete marks a
	// multi-line reply whose closing line never came (ReplyRecord).
	Code       int
	Text       string
	Incomplete bool
	Event
}

// ControlEncrypted reports whether the control channel turned to TLS (or
// another RFC 2228 protection) that hides its dialogue: not decrypted with
// a key log (see ControlDecrypted), or not all of it. A session decrypted
// in full is read as a clear-text one: its endpoints link its data
// connections, and none is paired by hosts and timing.
func (s *Session) ControlEncrypted() bool {
	return s.TLS != nil && s.TLS.Accepted.Seen() && !s.ControlDecrypted()
}

// ControlDecrypted reports whether the control channel turned to TLS and
// was decrypted in full with the key log (so far, while the capture is
// read).
func (s *Session) ControlDecrypted() bool {
	return s.TLS != nil && s.TLS.Accepted.Seen() && s.TLS.Decryption.Decrypted()
}

// Session returns the session that made the offer.
func (o *Offer) Session() *Session { return o.session }
