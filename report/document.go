package report

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
	"ftpdiag/pcap"
	"ftpdiag/tlsdecrypt"
)

// Schema names the version of the JSON document. It changes only when a
// field changes meaning or disappears; new fields may be added within it.
const Schema = "ftpdiag/v1"

// Document is the report in the shape of the JSON output (schema
// ftpdiag/v1, documented in README.md and schema/ftpdiag-v1.schema.json).
// Every text taken from the capture is escaped to valid UTF-8.
type Document struct {
	Schema string `json:"schema"`
	// Status, in a JSON Lines document of `ftpdiag --each`, is the exit
	// status this input alone gives (0, 1 or 2); absent otherwise.
	Status   *int      `json:"status,omitempty"`
	Inputs   []Input   `json:"inputs"`
	Stats    Stats     `json:"stats"`
	Sessions []Session `json:"sessions"`
	Findings []Finding `json:"findings"`
	// Views and Correlation compare the inputs packet by packet (package
	// correlate): present when they saw the same traffic from different
	// places, or when asked for (ftpdiag --views). See views.go.
	Views       []View       `json:"views,omitempty"`
	Correlation *Correlation `json:"correlation,omitempty"`
}

// Stats counts what was read and what a bound dropped. It is the report's
// own copy of ftpflow.Stats: the JSON names are the schema's, so renaming a
// tracker field does not change the document.
type Stats struct {
	Packets     int `json:"packets"`
	TCPPackets  int `json:"tcp_packets"`
	Connections int `json:"tcp_connections"`
	// Fragments counts IP fragments (not reassembled).
	Fragments int `json:"ip_fragments"`
	// Malformed counts packets whose headers are cut or inconsistent.
	Malformed int `json:"malformed_packets"`
	// UnsupportedLink counts packets of link types not decoded.
	UnsupportedLink int `json:"unsupported_link_packets"`
	// Undecoded counts frames of a protocol no decoder knows (an unknown
	// EtherType), which may hide IP and FTP; FirstUndecoded names the
	// first ("frame 12, EtherType 0x88e5"), empty when none.
	Undecoded      int    `json:"undecoded_packets"`
	FirstUndecoded string `json:"first_undecoded,omitempty"`
	// Duplicates counts packets the capture holds twice.
	Duplicates int `json:"duplicate_packets"`
	// ICMPTooBig counts ICMP "fragmentation needed" and "packet too big".
	ICMPTooBig int `json:"icmp_too_big"`
	// EvictedConnections counts connections dropped from a full table.
	EvictedConnections int `json:"evicted_connections"`
	// DroppedSessions counts FTP sessions not tracked, or not reported,
	// because of the session limit.
	DroppedSessions int `json:"dropped_sessions"`
	// DroppedOffers counts announcements not tracked for linking.
	DroppedOffers int `json:"dropped_offers"`
	// TruncatedPayload counts TCP segments the snapshot length cut.
	TruncatedPayload int `json:"truncated_payload_packets"`
	// BackwardTimestamps counts packets older than one already seen.
	BackwardTimestamps int `json:"backward_timestamps"`
}

// Input describes one capture file.
type Input struct {
	File       string   `json:"file"`
	Format     string   `json:"format"`
	Compressed bool     `json:"compressed"`
	LinkTypes  []string `json:"link_types"`
	Packets    int      `json:"packets"`
	First      *string  `json:"first"`
	Last       *string  `json:"last"`
	Warnings   []string `json:"warnings"`
	Complete   bool     `json:"complete"`
}

// Session is one FTP control connection.
type Session struct {
	ID         int    `json:"id"`
	Client     string `json:"client"`
	Server     string `json:"server"`
	DetectedBy string `json:"detected_by"`
	// Vantage says where the capture of this session was taken.
	Vantage Vantage `json:"vantage"`
	// User is the first USER argument ("" when not seen).
	User            string       `json:"user"`
	Start           string       `json:"start"`
	End             string       `json:"end"`
	Control         Control      `json:"control"`
	Greeting        *Reply       `json:"greeting"`
	TLS             *TLS         `json:"tls"`
	Offers          []Offer      `json:"offers"`
	InvalidOffers   []BadOffer   `json:"invalid_offers"`
	Transfers       []Transfer   `json:"transfers"`
	EncryptedData   []Connection `json:"encrypted_data_connections"`
	UnpairedReplies []Reply      `json:"unpaired_replies"`
	Counts          Counts       `json:"counts"`
	// Views, when several inputs saw this session from different places
	// (their comparison matched its control connection), says how each
	// saw it, this session's own view first: the session as listed is
	// that view's, the others are folded into it. Absent otherwise.
	Views []SessionView `json:"views,omitempty"`
}

// SessionView is how one input saw a session that several inputs saw.
type SessionView struct {
	Input int `json:"input"`
	// Session is the session's number in that input analysed alone.
	Session int    `json:"session"`
	Client  string `json:"client"`
	Server  string `json:"server"`
	// FirstFrame is the control connection's first frame in that input.
	FirstFrame int     `json:"first_frame"`
	Vantage    Vantage `json:"vantage"`
	// NAT is the translation between the first view and this one:
	// "none", "source", "destination" or "both".
	NAT string `json:"nat"`
	// Transfers and Failed count the transfers that input saw, and those
	// that failed.
	Transfers int `json:"transfers"`
	Failed    int `json:"transfers_failed"`
}

// Number numbers the view's input from 1, as the reports name inputs.
func (v SessionView) Number() int { return v.Input + 1 }

// Vantage is where along the path a session's capture was taken: Side is
// "client", "server", "between" or "unknown", Reason what the packets
// showed (TTLs against their usual initial values, handshake timing).
type Vantage struct {
	Side   string `json:"side"`
	Reason string `json:"reason"`
}

// Control is the life of the control connection.
type Control struct {
	FirstFrame int `json:"first_frame"`
	LastFrame  int `json:"last_frame"`
	// Handshake is true when the capture holds the control SYN.
	Handshake bool `json:"handshake"`
	// ClosedBy is "client", "server", "both", "reset_by_client",
	// "reset_by_server" or "open" (still open at the end of the capture).
	ClosedBy string `json:"closed_by"`
	// Gaps counts holes in the control stream (client, server).
	Gaps     [2]int   `json:"gaps"`
	GapBytes [2]int64 `json:"gap_bytes"`
}

// Counts summarises the control dialogue.
type Counts struct {
	Commands  int `json:"commands"`
	Replies   int `json:"replies"`
	BadLines  int `json:"bad_lines"`
	LongLines int `json:"long_lines"`
	Transfers int `json:"transfers"`
	OK        int `json:"transfers_ok"`
	Failed    int `json:"transfers_failed"`
}

// Reply is one server reply.
type Reply struct {
	Code  int    `json:"code"`
	Text  string `json:"text"`
	Frame int    `json:"frame"`
	Input int    `json:"input,omitempty"`
	Time  string `json:"time"`
	// Incomplete marks a multi-line reply whose closing line never came:
	// ended by the next command or the end of the capture.
	Incomplete bool `json:"incomplete,omitempty"`
}

// TLS records the control connection's switch to TLS.
type TLS struct {
	Command       string `json:"command"`
	RequestFrame  int    `json:"request_frame"`
	AcceptedFrame int    `json:"accepted_frame,omitempty"`
	// ClearAgainFrame is where clear-text FTP resumed, if it did.
	ClearAgainFrame int `json:"clear_again_frame,omitempty"`
	// Decrypted says the TLS records were all decrypted with the key log
	// (--keylog, or a pcapng Decryption Secrets Block): the dialogue was
	// analysed as clear text.
	Decrypted bool `json:"decrypted"`
	// Decryption is how far the records could be read (DecryptionState),
	// absent when no TLS record was seen.
	Decryption string `json:"decryption,omitempty"`
	// Version and CipherSuite are the ServerHello's choice, when seen.
	Version     string `json:"version,omitempty"`
	CipherSuite string `json:"cipher_suite,omitempty"`
	// DecryptionProblem says, when a key log was given but did not
	// decrypt the channel in full, why and at which record.
	DecryptionProblem string `json:"decryption_problem,omitempty"`
}

// DecryptionState words how far an FTPS control channel was decrypted, as
// TLS.Decryption says it: "decrypted", "no_key_log" (none given),
// "no_keys" (the key log lacks this connection), "handshake" (the capture
// holds not both hellos), "no_handshake" (it began after the handshake),
// "unsupported" (a version or cipher suite not decrypted), "malformed",
// "decrypt_error" (a record failed: a wrong secret, or bytes missing from
// the capture).
func DecryptionState(d *ftpflow.TLSDecryption) string {
	switch {
	case d == nil:
		return ""
	case d.Decrypted():
		return "decrypted"
	case !d.KeyLog && d.State == tlsdecrypt.StateNoKeys:
		return "no_key_log"
	}
	return d.State.String()
}

// buildTLS describes a control connection's switch to TLS.
func buildTLS(t *ftpflow.TLSInfo) *TLS {
	out := &TLS{Command: Clean(t.Command), RequestFrame: t.Request.Frame, AcceptedFrame: t.Accepted.Frame, ClearAgainFrame: t.ClearAgain.Frame}
	if d := t.Decryption; d != nil {
		out.Decrypted = d.Decrypted()
		out.Decryption = DecryptionState(d)
		out.Version, out.CipherSuite = d.VersionName(), d.SuiteName()
		if d.KeyLog && !d.Decrypted() {
			out.DecryptionProblem = Clean(d.Problem)
		}
	}
	return out
}

// Offer is one announcement of a data endpoint.
type Offer struct {
	ID    int    `json:"id"`
	Kind  string `json:"kind"`
	IP    string `json:"ip"`
	Port  int    `json:"port"`
	Frame int    `json:"frame"`
	Input int    `json:"input,omitempty"`
	Time  string `json:"time"`
	Text  string `json:"text"`
	// Answer is the server's reply to PORT/EPRT/LPRT.
	Answer *Reply `json:"answer,omitempty"`
	// Connections counts the TCP connections made to the endpoint.
	Connections int `json:"connections"`
	// Transfers lists the IDs of the transfers that used it.
	Transfers []int `json:"transfers"`
	// DataConnections are the TCP connections made to the endpoint, as
	// transfers[].data_connection shows them; the outcome of one that no
	// transfer used is judged from the connection alone.
	DataConnections []Connection `json:"data_connections"`
}

// OfferRef is a transfer's reference to its offer.
type OfferRef struct {
	ID    int    `json:"id"`
	Kind  string `json:"kind"`
	IP    string `json:"ip"`
	Port  int    `json:"port"`
	Frame int    `json:"frame"`
	Input int    `json:"input,omitempty"`
}

// BadOffer is an announcement that could not be parsed.
type BadOffer struct {
	Kind  string `json:"kind"`
	Text  string `json:"text"`
	Error string `json:"error"`
	Frame int    `json:"frame"`
	Input int    `json:"input,omitempty"`
	// Answer is the server's reply to an unreadable PORT, EPRT or LPRT.
	Answer *Reply `json:"answer,omitempty"`
}

// Transfer is one data-moving command.
type Transfer struct {
	ID      int    `json:"id"`
	Command string `json:"command"`
	Arg     string `json:"arg"`
	Frame   int    `json:"frame"`
	Input   int    `json:"input,omitempty"`
	Time    string `json:"time"`
	Mode    string `json:"mode"`
	// Direction is "download" (server to client) or "upload".
	Direction      string      `json:"direction"`
	Offer          *OfferRef   `json:"offer"`
	DataConnection *Connection `json:"data_connection"`
	// Attempts counts the connections made to the endpoint for this
	// transfer (the data connection included).
	Attempts     int     `json:"attempts"`
	Replies      []Reply `json:"replies"`
	Status       string  `json:"status"`
	Outcome      string  `json:"outcome"`
	ExpectedSize *int64  `json:"expected_size"`
	Restart      *int64  `json:"restart"`
	Aborted      bool    `json:"aborted"`
	// Duration is from the command to the final reply, in seconds.
	Duration *float64 `json:"duration"`
}

// Connection is a TCP connection's life. Client and Server are TCP roles:
// the client sent the SYN (in active mode that is the FTP server).
type Connection struct {
	ID          int    `json:"id"`
	Client      string `json:"client"`
	Server      string `json:"server"`
	Handshake   bool   `json:"handshake"`
	SYNFrames   []int  `json:"syn_frames"`
	SYNCount    int    `json:"syn_count"`
	FirstSYN    string `json:"first_syn,omitempty"`
	SYNACKFrame int    `json:"synack_frame,omitempty"`
	Established bool   `json:"established"`
	Reset       *Reset `json:"rst"`
	FINClient   int    `json:"fin_client_frame,omitempty"`
	FINServer   int    `json:"fin_server_frame,omitempty"`
	// Bytes is the payload the data sender sent (from sequence numbers).
	Bytes int64 `json:"bytes"`
	// BytesClient and BytesServer are the payload each TCP side sent.
	BytesClient int64 `json:"bytes_client"`
	BytesServer int64 `json:"bytes_server"`
	// Captured is the sender's payload present in the capture.
	Captured        int64   `json:"captured_bytes"`
	Retransmissions int     `json:"retransmissions"`
	MSS             [2]int  `json:"mss"`
	FirstFrame      int     `json:"first_frame"`
	LastFrame       int     `json:"last_frame"`
	Input           int     `json:"input,omitempty"`
	Duration        float64 `json:"duration"`
	Outcome         string  `json:"outcome,omitempty"`
	// Direction, Confidence and DataTLS are given for the connections
	// paired with an encrypted session by hosts and timing
	// (encrypted_data_connections): who opened it ("passive": the FTP
	// client, "active": the FTP server), how sure the pairing is
	// ("likely": its timing fits the control channel's TLS records;
	// "possible": hosts and time only), and what its own TLS showed.
	Direction  string   `json:"direction,omitempty"`
	Confidence string   `json:"confidence,omitempty"`
	DataTLS    *DataTLS `json:"tls,omitempty"`
}

// DataTLS is what a data connection's own TLS records showed, read from
// their headers and the clear-text hellos (never decrypted).
type DataTLS struct {
	// ClientHelloFrame and ServerHelloFrame are the hellos' frames (0:
	// not seen; a HelloRetryRequest does not count).
	ClientHelloFrame int `json:"client_hello_frame,omitempty"`
	ServerHelloFrame int `json:"server_hello_frame,omitempty"`
	// Version is "1.2" or "1.3" when the ServerHello was read.
	Version string `json:"version,omitempty"`
	// OfferedResumption: the ClientHello offered a session to resume;
	// Resumed: the server resumed it (no full handshake).
	OfferedResumption bool `json:"offered_resumption"`
	Resumed           bool `json:"resumed"`
	// Alert is the first alert in clear text ("fatal 40"...), if any.
	Alert      string `json:"alert,omitempty"`
	AlertFrame int    `json:"alert_frame,omitempty"`
	// End is how the TLS ended: "data" (application data flowed),
	// "alert", "closed_in_handshake", "closed_after_handshake" (no
	// application data) or "unknown".
	End string `json:"end"`
}

// Reset is a connection's first RST.
type Reset struct {
	From  string `json:"from"`
	Frame int    `json:"frame"`
	Time  string `json:"time"`
}

// Finding is one diagnosis.
type Finding struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	// Confidence is "certain", "likely" or "possible".
	Confidence  string         `json:"confidence"`
	Session     int            `json:"session"`
	Transfer    int            `json:"transfer"`
	Summary     string         `json:"summary"`
	Explanation string         `json:"explanation"`
	Remediation string         `json:"remediation"`
	Evidence    map[string]any `json:"evidence"`
	// Filter is a Wireshark display filter showing the evidence.
	Filter string `json:"wireshark_filter"`
}

// Build turns an analysis into a document. The document never holds a
// PASS argument.
func Build(a *analyze.Analysis) *Document {
	d := &Document{Schema: Schema, Stats: buildStats(a.Stats), Inputs: []Input{}, Sessions: []Session{}, Findings: []Finding{}}
	for _, in := range a.Inputs {
		d.Inputs = append(d.Inputs, buildInput(in))
	}
	for _, s := range a.Sessions {
		d.Sessions = append(d.Sessions, buildSession(s, a.Views[s.ID]))
	}
	for _, f := range a.Findings {
		d.Findings = append(d.Findings, buildFinding(f))
	}
	return d
}

func buildStats(s ftpflow.Stats) Stats {
	return Stats{
		Packets: s.Packets, TCPPackets: s.TCPPackets, Connections: s.Connections,
		Fragments: s.Fragments, Malformed: s.Malformed, UnsupportedLink: s.UnsupportedLink,
		Undecoded: s.Undecoded, FirstUndecoded: s.FirstUndecoded,
		Duplicates: s.Duplicates, ICMPTooBig: s.ICMPTooBig, EvictedConnections: s.EvictedConnections,
		DroppedSessions: s.DroppedSessions, DroppedOffers: s.DroppedOffers,
		TruncatedPayload: s.TruncatedPayload, BackwardTimestamps: s.BackwardTimestamps,
	}
}

func buildFinding(f analyze.Finding) Finding {
	return Finding{
		ID: f.ID, Kind: f.Kind, Severity: f.Severity.String(), Confidence: f.Confidence.String(),
		Session: f.Session, Transfer: f.Transfer,
		Summary: Clean(f.Summary), Explanation: Clean(f.Explanation), Remediation: Clean(f.Remediation),
		Evidence: cleanEvidence(f.Evidence), Filter: Clean(f.Filter),
	}
}

func buildInput(in pcap.Info) Input {
	out := Input{
		File: Clean(in.Name), Format: in.Format.String(), Compressed: in.Compressed,
		LinkTypes: []string{}, Packets: in.Packets, Warnings: []string{}, Complete: in.Complete,
	}
	for _, lt := range in.LinkTypes {
		out.LinkTypes = append(out.LinkTypes, pcap.LinkTypeName(lt))
	}
	for _, w := range in.Warnings {
		out.Warnings = append(out.Warnings, Clean(w))
	}
	if in.Packets > 0 {
		f, l := stamp(in.First), stamp(in.Last)
		out.First, out.Last = &f, &l
	}
	return out
}

// buildSession describes a session and, when several inputs saw it, how
// each did.
func buildSession(s *ftpflow.Session, views []analyze.SessionView) Session {
	out := buildOneSession(s)
	for _, v := range views {
		one := out
		if v.Session != s {
			one = buildOneSession(v.Session)
		}
		out.Views = append(out.Views, SessionView{
			Input: v.Input, Session: v.ID, Client: one.Client, Server: one.Server, FirstFrame: one.Control.FirstFrame,
			Vantage: one.Vantage, NAT: v.NAT, Transfers: one.Counts.Transfers, Failed: one.Counts.Failed,
		})
	}
	return out
}

func buildOneSession(s *ftpflow.Session) Session {
	c := s.Control
	v := c.Locate()
	out := Session{
		ID: s.ID, Client: s.Client.String(), Server: s.Server.String(), DetectedBy: s.DetectedBy,
		Vantage: Vantage{Side: v.Side.String(), Reason: v.Reason},
		User:    Clean(s.User), Start: stamp(c.First.Time), End: stamp(c.Last.Time),
		Control: Control{
			FirstFrame: c.First.Frame, LastFrame: c.Last.Frame, Handshake: c.Handshake,
			ClosedBy: closedBy(c), Gaps: s.Gaps, GapBytes: s.GapBytes,
		},
		Offers: []Offer{}, InvalidOffers: []BadOffer{}, Transfers: []Transfer{},
		EncryptedData: []Connection{}, UnpairedReplies: []Reply{},
		Counts: Counts{Commands: s.Commands, Replies: s.Replies, BadLines: s.BadLines, LongLines: s.LongLines},
	}
	if s.Greeting != nil {
		r := buildReply(*s.Greeting)
		out.Greeting = &r
	}
	if t := s.TLS; t != nil {
		out.TLS = buildTLS(t)
	}
	for _, o := range s.Offers {
		bo := Offer{
			ID: o.ID, Kind: o.Kind.String(), IP: o.Endpoint.Addr().String(), Port: int(o.Endpoint.Port()),
			Frame: o.Frame, Input: o.Input, Time: stamp(o.Time), Text: Clean(o.Line),
			Connections: len(o.Conns), Transfers: []int{},
		}
		if o.Answer != nil {
			r := buildReply(*o.Answer)
			bo.Answer = &r
		}
		for _, t := range o.Transfers {
			bo.Transfers = append(bo.Transfers, t.ID)
		}
		bo.DataConnections = offerConns(o)
		out.Offers = append(out.Offers, bo)
	}
	for _, b := range s.InvalidOffers {
		bo := BadOffer{Kind: b.Kind.String(), Text: Clean(b.Line), Error: Clean(b.Err), Frame: b.Frame, Input: b.Input}
		if b.Answer != nil {
			r := buildReply(*b.Answer)
			bo.Answer = &r
		}
		out.InvalidOffers = append(out.InvalidOffers, bo)
	}
	for _, t := range s.Transfers {
		bt := buildTransfer(t)
		out.Transfers = append(out.Transfers, bt)
		out.Counts.Transfers++
		switch {
		case t.Status == ftpflow.StatusOK && !t.Outcome.Failed():
			out.Counts.OK++
		case t.Status == ftpflow.StatusFailed || t.Outcome.Failed():
			out.Counts.Failed++
		}
	}
	for _, c := range s.EncryptedData {
		out.EncryptedData = append(out.EncryptedData, buildEncryptedConn(c))
	}
	for _, r := range s.Unpaired {
		out.UnpairedReplies = append(out.UnpairedReplies, buildReply(r))
	}
	return out
}

func buildTransfer(t *ftpflow.Transfer) Transfer {
	out := Transfer{
		ID: t.ID, Command: t.Command, Arg: Clean(t.Arg), Frame: t.Frame, Input: t.Input, Time: stamp(t.Time),
		Mode: t.Mode.String(), Direction: "download", Attempts: len(t.Attempts), Replies: []Reply{},
		Status: t.Status.String(), Outcome: t.Outcome.String(), Aborted: t.Aborted,
	}
	if t.Upload() {
		out.Direction = "upload"
	}
	if o := t.Offer; o != nil {
		out.Offer = &OfferRef{ID: o.ID, Kind: o.Kind.String(), IP: o.Endpoint.Addr().String(), Port: int(o.Endpoint.Port()), Frame: o.Frame, Input: o.Input}
	}
	if t.Data != nil {
		c := buildConn(t.Data, t.DataSender())
		c.Outcome = t.Outcome.String()
		out.DataConnection = &c
	}
	for _, r := range t.Replies {
		out.Replies = append(out.Replies, buildReply(r))
	}
	if t.ExpectedSize >= 0 {
		n := t.ExpectedSize
		out.ExpectedSize = &n
	}
	if t.Restart >= 0 {
		n := t.Restart
		out.Restart = &n
	}
	if f := t.Final(); f != nil {
		d := f.Time.Sub(t.Time).Seconds()
		out.Duration = &d
	}
	return out
}

// offerConns builds the connections made to an announced endpoint: as its
// transfer shows one a transfer used, judged on its own otherwise.
func offerConns(o *ftpflow.Offer) []Connection {
	out := make([]Connection, 0, len(o.Conns))
	for _, c := range o.Conns {
		out = append(out, offerConn(o, c))
	}
	return out
}

func offerConn(o *ftpflow.Offer, c *ftpflow.Conn) Connection {
	for _, t := range o.Transfers {
		if t.Data == c {
			bc := buildConn(c, t.DataSender())
			bc.Outcome = t.Outcome.String()
			return bc
		}
	}
	sender := ftpflow.Server
	if c.Bytes[ftpflow.Client] > c.Bytes[ftpflow.Server] {
		sender = ftpflow.Client
	}
	bc := buildConn(c, sender)
	bc.Outcome = c.Outcome().String()
	return bc
}

func buildConn(c *ftpflow.Conn, sender ftpflow.Side) Connection {
	out := Connection{
		ID: c.ID, Client: c.Client.String(), Server: c.Server.String(), Handshake: c.Handshake,
		SYNFrames: []int{}, SYNCount: c.SYNCount, SYNACKFrame: c.SYNACK.Frame, Established: c.Established(),
		FINClient: c.FIN[ftpflow.Client].Frame, FINServer: c.FIN[ftpflow.Server].Frame,
		Bytes: c.Bytes[sender], BytesClient: c.Bytes[ftpflow.Client], BytesServer: c.Bytes[ftpflow.Server],
		Captured: c.Captured[sender], Retransmissions: c.Retransmissions[ftpflow.Client] + c.Retransmissions[ftpflow.Server],
		MSS: c.MSS, FirstFrame: c.First.Frame, LastFrame: c.Last.Frame, Input: c.First.Input,
		Duration: c.Last.Time.Sub(c.First.Time).Seconds(),
	}
	for _, e := range c.SYNs {
		out.SYNFrames = append(out.SYNFrames, e.Frame)
	}
	if len(c.SYNs) > 0 {
		out.FirstSYN = stamp(c.SYNs[0].Time)
	}
	if r := c.Reset; r != nil {
		out.Reset = &Reset{From: r.From.String(), Frame: r.Frame, Time: stamp(r.Time)}
	}
	return out
}

// buildEncryptedConn describes a connection paired with an encrypted
// session: as any data connection, with its outcome (judged with what its
// TLS records show), direction, the pairing's confidence and its TLS.
func buildEncryptedConn(c *ftpflow.Conn) Connection {
	sender := ftpflow.Server
	if c.Bytes[ftpflow.Client] > c.Bytes[ftpflow.Server] {
		sender = ftpflow.Client
	}
	out := buildConn(c, sender)
	out.Outcome = c.EncryptedOutcome().String()
	e := c.Encrypted()
	if e == nil {
		return out
	}
	out.Direction = e.Mode.String()
	out.Confidence = analyze.PairingConfidence(c).String()
	d := &e.TLS
	if !d.ClientHello.Seen() {
		return out
	}
	dt := &DataTLS{
		ClientHelloFrame: d.ClientHello.Frame, ServerHelloFrame: d.ServerHello.Frame, Version: d.VersionName(),
		OfferedResumption: d.OfferedResumption, Resumed: d.Resumed, End: d.End(c).String(),
	}
	if a := d.Alert; a != nil {
		dt.Alert, dt.AlertFrame = analyze.AlertWords(a), a.Frame
	}
	out.DataTLS = dt
	return out
}

func buildReply(r ftpflow.ReplyRecord) Reply {
	return Reply{Code: r.Code, Text: Clean(r.Text), Frame: r.Frame, Input: r.Input, Time: stamp(r.Time), Incomplete: r.Incomplete}
}

func closedBy(c *ftpflow.Conn) string {
	switch {
	case c.Reset != nil:
		return "reset_by_" + c.Reset.From.String()
	case c.FIN[ftpflow.Client].Seen() && c.FIN[ftpflow.Server].Seen():
		return "both"
	case c.FIN[ftpflow.Client].Seen():
		return "client"
	case c.FIN[ftpflow.Server].Seen():
		return "server"
	}
	return "open"
}

// stamp formats a capture time as RFC 3339 with nanoseconds, in UTC.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Clean makes capture text safe for any output: invalid UTF-8 bytes become
// \xNN, and control characters (other than tab) become \u escapes, so no
// terminal escape sequence or NUL from a capture reaches the reader.
func Clean(s string) string {
	if isPlainASCII(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t' || r == '\n':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 || bidiControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isPlainASCII reports whether s is printable ASCII (tabs allowed), which
// needs no escaping.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 && b != '\t' || b >= 0x7f {
			return false
		}
	}
	return true
}

// bidiControl reports whether r reorders text on display (the "Trojan
// Source" characters): shown raw they could make a terminal line lie.
func bidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}

// cleanEvidence escapes every string inside a finding's evidence.
func cleanEvidence(ev map[string]any) map[string]any {
	out := make(map[string]any, len(ev))
	for k, v := range ev {
		out[k] = cleanValue(v)
	}
	return out
}

func cleanValue(v any) any {
	switch x := v.(type) {
	case string:
		return Clean(x)
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = Clean(s)
		}
		return out
	case map[string]any:
		return cleanEvidence(x)
	case []map[string]any:
		out := make([]map[string]any, len(x))
		for i, m := range x {
			out[i] = cleanEvidence(m)
		}
		return out
	}
	return v
}
