package ftpflow

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// sessionState is the tracker's working state for one FTP session: the
// parser of its control dialogue and the session's place in the tracker's
// life cycle. It is kept apart from Session, the result that Result and a
// SessionSink receive, as packetbeat keeps a connection's parser state
// apart from the transactions it publishes.
type sessionState struct {
	s       *Session // the result being built
	tracker *Tracker
	// confirmed is set once the session is known to be FTP (port 21, or
	// the client's first command); dropped when it turned out not to be.
	confirmed bool
	dropped   bool
	// released is set once the control connection closed and was
	// reassembled to its end; settled once the session is over (the
	// tracker feeds and links nothing more to it); activeUntil, once
	// settled, is the session's last packet (data connections included).
	released, settled bool
	activeUntil       time.Time
	// passiveSince is the time of the first passive announcement or
	// refused passive request: what sessions to the same server may be
	// compared on (zero while there is none).
	passiveSince time.Time
	stream       *controlStream   // the reassembler's current stream
	reorder      [2]reorderBuffer // each direction put back in sequence order (hold.go)
	lines        [2]lineState
	framer       ReplyFramer
	replyAt      Event
	// lastReplyLine is when the server's last line began: a client
	// command after it ends a multi-line reply still open.
	lastReplyLine time.Time
	pending       []pendingCommand
	current       *Offer   // newest offer not yet consumed by a transfer
	refusal       *Refusal // passive request refused since the last transfer
	active        *Transfer
	restart       int64
	sizeName      string
	sizeValue     int64
	authSent      bool
	greeted       bool
	resync        bool // a hole in the stream: pair the next reply by time
	secrecy       secrecy
	oops          *pendingReply
	dec           *decrypter // once the channel turned to TLS (decrypt.go)
}

// newSession starts a session on control connection c, recognised as FTP
// by "port" or by "content" (see Session.DetectedBy).
func newSession(t *Tracker, c *Conn, by string) *sessionState {
	return &sessionState{
		s: &Session{
			Control:    c,
			Client:     c.Client,
			Server:     c.Server,
			DetectedBy: by,
		},
		tracker:   t,
		confirmed: by == "port",
		restart:   -1,
		sizeValue: -1,
		// A connection caught mid-way may begin inside a PASS line.
		secrecy: secrecy{cut: !c.Handshake},
	}
}

// pendingCommand is a command waiting for its final reply.
type pendingCommand struct {
	verb     string
	arg      string
	ev       Event
	transfer *Transfer
	offer    *Offer
	// invalid is the 1-based index in InvalidOffers of the announcement
	// this command made that could not be read (0: none).
	invalid int
	// waiting is the transfer command sent before this PASV/EPSV/LPSV's
	// reply was read (the reply may be delayed by a hole in the capture):
	// the reply's endpoint is for it.
	waiting *Transfer
}

// passiveEvent notes a passive announcement or refusal at t.
func (st *sessionState) passiveEvent(t time.Time) {
	if st.passiveSince.IsZero() || t.Before(st.passiveSince) {
		st.passiveSince = t
	}
}

// transferVerbs are the commands that move data over a data connection.
var transferVerbs = map[string]bool{
	"LIST": true, "NLST": true, "MLSD": true,
	"RETR": true, "STOR": true, "STOU": true, "APPE": true,
}

// IsTransferCommand reports whether verb moves data over a data connection.
func IsTransferCommand(verb string) bool { return transferVerbs[verb] }

// openingVerbs are commands an FTP client may send first; a 220 greeting on
// a port other than 21 is taken for FTP only when one of them answers it.
var openingVerbs = map[string]bool{
	"USER": true, "AUTH": true, "FEAT": true, "SYST": true, "OPTS": true,
	"HOST": true, "CLNT": true, "PASS": true, "PBSZ": true, "PROT": true,
	"TYPE": true, "PWD": true, "CWD": true, "PASV": true, "EPSV": true,
}

// command handles one line from the client.
func (st *sessionState) command(line string, ev Event) {
	if st.framer.Pending() && ev.Time.After(st.lastReplyLine) {
		st.flushReply() // the client moved on: the reply is as complete as it gets
	}
	st.flushOops()
	cmd, err := ParseCommand(line)
	fragment, secret := st.secrecy.line(cmd, err)
	if fragment {
		// The rest of a line whose start is lost: not a command.
		st.s.BadLines++
		st.log(LogEntry{From: Client, Secret: true, Event: ev})
		return
	}
	if !st.accept(cmd.Verb, err) {
		return
	}
	st.s.Commands++
	if secret {
		st.log(LogEntry{From: Client, Secret: true, Event: ev})
	} else {
		st.log(LogEntry{From: Client, Verb: cmd.Verb, Arg: clip(cmd.Arg), Event: ev})
	}
	pc := pendingCommand{verb: cmd.Verb, arg: cmd.Arg, ev: ev}
	st.act(&pc, cmd)
	if len(st.pending) >= maxPending {
		st.pending = st.pending[1:]
	}
	st.pending = append(st.pending, pc)
}

// accept reports whether a client line is a command to act on. A line
// that is not a command counts as bad. On a connection not yet confirmed
// as FTP, such a line, or a command no FTP client sends first, drops the
// session; an opening command confirms it and gives it its number.
func (st *sessionState) accept(verb string, err error) bool {
	if err != nil {
		st.s.BadLines++
		if !st.confirmed {
			st.drop()
		}
		return false
	}
	if st.confirmed {
		st.tracker.number(st.s) // a connection caught mid-way waits for its first command
		return true
	}
	if !openingVerbs[verb] {
		st.drop()
		return false
	}
	st.confirmed = true
	st.tracker.number(st.s)
	return true
}

// act applies a command's effect on the session; what its reply will
// complete goes in pc.
func (st *sessionState) act(pc *pendingCommand, cmd Command) {
	s := st.s
	switch cmd.Verb {
	case "USER":
		if s.User == "" {
			s.User = cmd.Arg
		}
	case "AUTH":
		st.authSent = true
		if s.TLS == nil {
			s.TLS = &TLSInfo{Command: "AUTH " + cmd.Arg, Request: pc.ev}
		}
	case "MIC", "ENC", "CONF":
		st.protect(pc.ev, true)
	case "PASV", "EPSV", "LPSV":
		st.current, st.refusal = nil, nil
	case "PORT":
		st.current = nil
		ap, err := ParsePORT(cmd.Arg)
		pc.offer, pc.invalid = st.announce(OfferPORT, ap, err, cmd.Arg, pc.ev)
	case "EPRT":
		st.current = nil
		ap, err := ParseEPRT(cmd.Arg)
		pc.offer, pc.invalid = st.announce(OfferEPRT, ap, err, cmd.Arg, pc.ev)
	case "LPRT":
		st.current = nil
		ap, err := ParseLPRT(cmd.Arg)
		pc.offer, pc.invalid = st.announce(OfferLPRT, ap, err, cmd.Arg, pc.ev)
	case "REST":
		if n, err := strconv.ParseInt(strings.TrimSpace(cmd.Arg), 10, 64); err == nil && n >= 0 {
			st.restart = n
		}
	case "ABOR":
		if st.active != nil {
			st.active.Aborted = true
		}
	case "QUIT":
		if !s.Quit.Seen() {
			s.Quit = pc.ev
		}
	default:
		if transferVerbs[cmd.Verb] {
			pc.transfer = st.newTransfer(cmd, pc.ev)
		}
	}
}

// log records a control line, within the bound.
func (st *sessionState) log(e LogEntry) {
	if !st.tracker.cfg.KeepLog {
		return
	}
	s := st.s
	if len(s.Log) >= maxLog {
		s.LogDropped++
		return
	}
	s.Log = append(s.Log, e)
}

// release frees what only parsing needed, once the control connection has
// closed in both directions and the reassembler delivered everything: the
// session then keeps only what the report shows.
func (st *sessionState) release() {
	st.flushReply()
	st.flushOops()
	st.stopDecrypting()
	st.lines = [2]lineState{}
	st.framer = ReplyFramer{}
	st.pending = nil
}

// drop abandons a connection that was taken for FTP by its greeting but
// whose client does not speak FTP.
func (st *sessionState) drop() {
	st.dropped = true
}

// newTransfer records a transfer command and links it to the newest offer.
func (st *sessionState) newTransfer(cmd Command, ev Event) *Transfer {
	s := st.s
	if len(s.Transfers) >= MaxTransfersKept {
		s.Dropped.Transfers++ // not kept; what it would have used is spent
		st.current, st.refusal, st.restart, st.active = nil, nil, -1, nil
		return nil
	}
	tr := &Transfer{
		ID:           len(s.Transfers) + 1,
		Command:      cmd.Verb,
		Arg:          cmd.Arg,
		Event:        ev,
		Restart:      st.restart,
		ExpectedSize: -1,
	}
	st.restart = -1
	tr.Refusal, st.refusal = st.refusal, nil
	if o := st.current; o != nil {
		tr.use(o)
		st.current = nil
	} else if i := st.pendingPassive(); i >= 0 {
		st.pending[i].waiting = tr
	}
	if cmd.Verb == "RETR" && st.sizeValue >= 0 && st.sizeName == cmd.Arg {
		tr.ExpectedSize = st.sizeValue
	}
	s.Transfers = append(s.Transfers, tr)
	st.active = tr
	return tr
}

// use links a transfer to the offer it uses.
func (tr *Transfer) use(o *Offer) {
	tr.Offer = o
	tr.Mode = ModeActive
	if o.Passive() {
		tr.Mode = ModePassive
	}
	o.Transfers = append(o.Transfers, tr)
}

// pendingPassive returns the index of the newest PASV/EPSV/LPSV still
// waiting for its reply and for a transfer, or -1.
func (st *sessionState) pendingPassive() int {
	for i := len(st.pending) - 1; i >= 0; i-- {
		pc := &st.pending[i]
		switch pc.verb {
		case "PASV", "EPSV", "LPSV":
			if pc.waiting == nil {
				return i
			}
			return -1
		}
		if pc.transfer != nil {
			return -1
		}
	}
	return -1
}

// announce records an endpoint announcement, or why it could not be read
// (then returning its 1-based index in InvalidOffers, 0 when not kept).
func (st *sessionState) announce(kind OfferKind, ap netip.AddrPort, err error, line string, ev Event) (*Offer, int) {
	s := st.s
	if err != nil {
		if len(s.InvalidOffers) >= maxInvalidOffers {
			return nil, 0
		}
		s.InvalidOffers = append(s.InvalidOffers, InvalidOffer{Kind: kind, Line: clip(line), Err: err.Error(), Event: ev})
		return nil, len(s.InvalidOffers)
	}
	o := &Offer{ID: len(s.Offers) + 1, Kind: kind, Endpoint: ap, Line: clip(line), Event: ev, session: s}
	s.Offers = append(s.Offers, o)
	if kind.Passive() {
		st.passiveEvent(ev.Time)
	}
	st.current = o
	st.tracker.addOffer(o)
	return o, 0
}

// maxKeptText bounds the capture text kept per reply or argument.
const maxKeptText = 512

// clip cuts capture text to maxKeptText bytes for keeping.
func clip(s string) string {
	if len(s) <= maxKeptText {
		return s
	}
	return s[:maxKeptText]
}

// replyLine handles one line from the server.
func (st *sessionState) replyLine(line string, ev Event) {
	if !st.framer.Pending() {
		st.replyAt = ev
	}
	st.lastReplyLine = ev.Time
	if r, done := st.framer.Push(line); done {
		st.framed(r)
	}
}

// flushReply ends a multi-line reply still open, as incomplete: its
// closing line did not come before the client's next command, or before
// the end of the capture. Left open, it would swallow every later reply.
func (st *sessionState) flushReply() {
	if r, ok := st.framer.Flush(); ok {
		st.framed(r)
	}
}

// framed handles a reply the framer completed (or flushed).
func (st *sessionState) framed(r Reply) {
	if r.Code == 0 {
		if o := st.oops; o != nil && strings.TrimSpace(r.Text) != "" && len(o.full) < maxKeptText {
			// vsftpd's "500 OOPS: " goes on over lines without a code.
			o.full += strings.TrimSpace(r.Text) + " "
			return
		}
		st.s.BadLines++
		return
	}
	st.flushOops()
	if r.Code >= 500 && strings.HasPrefix(r.Text, "OOPS:") {
		st.oops = &pendingReply{code: r.Code, full: r.Text, at: st.replyAt}
		return
	}
	st.completeReply(ReplyRecord{Code: r.Code, Text: r.Text, Incomplete: r.Unterminated, Event: st.replyAt})
}

// pendingReply is a vsftpd "OOPS" reply waiting for its code-less
// continuation lines.
type pendingReply struct {
	code int
	full string
	at   Event
}

// flushOops completes a pending OOPS reply.
func (st *sessionState) flushOops() {
	if o := st.oops; o != nil {
		st.oops = nil
		st.completeReply(ReplyRecord{Code: o.code, Text: strings.TrimSpace(o.full), Event: o.at})
	}
}

// completeReply records a complete reply (rec.Text in full) and pairs it
// with its command.
func (st *sessionState) completeReply(rec ReplyRecord) {
	full := rec.Text
	rec.Text = clip(full)
	st.s.Replies++
	st.secrecy.reply()
	st.log(LogEntry{From: Server, Code: rec.Code, Text: rec.Text, Incomplete: rec.Incomplete, Event: rec.Event})
	st.reply(rec, full)
}

// reply pairs a complete reply with the command it answers. full is the
// reply's whole text (rec.Text may be clipped for keeping).
func (st *sessionState) reply(rec ReplyRecord, full string) {
	if st.greeting(rec) {
		return
	}
	i := st.pairIndex(rec.Code, rec.Time)
	if i < 0 {
		st.s.unpaired(rec)
		if off := passiveKind(rec.Code); off != 0 {
			st.passiveReply(off, rec, full)
		}
		return
	}
	st.pending = st.pending[i:]
	pc := &st.pending[0]
	st.answer(pc, rec, full)
	if rec.Code >= 200 {
		st.pending = st.pending[1:]
	}
}

// greeting reports whether a reply is the server's greeting, or part of
// it, and records it. The first reply of the server's stream is the
// greeting when it is a 220 (unless it answers REIN) or, with no command
// waiting, a 421; a 120 ("ready in a while") is one that a later reply
// may replace. Any other first reply is the greeting only when the
// capture holds the control connection from its SYN, so the reply is
// truly the start of the stream (vsftpd's "500 OOPS" at connect): a reply
// of a connection caught mid-way (a stray tail carrying a 425) is not. A
// single-line 220 before the first command adds to a banner sent in
// pieces.
func (st *sessionState) greeting(rec ReplyRecord) bool {
	s := st.s
	if !st.greeted {
		if rec.Code == 120 {
			s.Greeting = &rec
			return true
		}
		st.greeted = true
		if st.opensStream(rec.Code) {
			s.Greeting = &rec
			if st.confirmed {
				st.tracker.number(s)
			}
			return true
		}
	}
	if rec.Code == 220 && s.Commands == 0 && s.Greeting != nil && len(st.pending) == 0 {
		s.Greeting.Text = clip(s.Greeting.Text + "\n" + rec.Text)
		return true
	}
	return false
}

// opensStream reports whether a first reply with code is the server's
// greeting (see greeting).
func (st *sessionState) opensStream(code int) bool {
	nothingWaits := len(st.pending) == 0
	switch code {
	case 220:
		return nothingWaits || st.pending[0].verb != "REIN"
	case 421:
		return nothingWaits
	}
	return nothingWaits && st.s.Control.Handshake
}

// unpaired records a reply that answers no command seen, within the bound.
func (s *Session) unpaired(rec ReplyRecord) {
	if len(s.Unpaired) < maxUnpaired {
		s.Unpaired = append(s.Unpaired, rec)
	}
}

// answer applies a reply to the command it answers.
func (st *sessionState) answer(pc *pendingCommand, rec ReplyRecord, full string) {
	if off := passiveKind(rec.Code); off != 0 {
		if o := st.passiveReply(off, rec, full); o != nil && pc.waiting != nil && pc.waiting.Offer == nil {
			pc.waiting.use(o)
			st.current = nil
		}
	}
	switch {
	case pc.transfer != nil:
		st.transferReply(pc.transfer, rec, full)
	case pc.offer != nil:
		if pc.offer.Answer == nil {
			r := rec
			pc.offer.Answer = &r
		}
	case pc.invalid > 0:
		if bad := &st.s.InvalidOffers[pc.invalid-1]; bad.Answer == nil {
			r := rec
			bad.Answer = &r
		}
	case pc.verb == "AUTH" && rec.Code == 234:
		st.protect(rec.Event, false)
	case pc.verb == "ADAT" && rec.Code == 235:
		st.protect(rec.Event, true) // RFC 2228: security data exchange complete
	case pc.verb == "PASV" || pc.verb == "EPSV" || pc.verb == "LPSV":
		st.passiveRefused(pc, rec)
	case pc.verb == "SIZE":
		if rec.Code == 213 {
			if n, ok := ParseSizeReply(full); ok {
				st.sizeName, st.sizeValue = pc.arg, n
			}
		}
	}
}

// protect notes that the control channel is protected from at on (TLS,
// or another RFC 2228 mechanism when rfc2228), the first time: the
// session's endpoints can no longer be read, and its data connections are
// paired by hosts and timing. A protection whose AUTH the capture does
// not hold was in place before it began.
func (st *sessionState) protect(at Event, rfc2228 bool) {
	s := st.s
	if s.TLS == nil {
		s.TLS = &TLSInfo{Before: true}
	}
	if s.TLS.Accepted.Seen() {
		return
	}
	s.TLS.Accepted = at
	s.TLS.RFC2228 = rfc2228
	st.tracker.tlsStarted(s)
}

// transferReply adds a reply to a transfer: a preliminary one may announce
// the size, a final one ends the transfer.
func (st *sessionState) transferReply(tr *Transfer, rec ReplyRecord, full string) {
	tr.Replies = append(tr.Replies, rec)
	if rec.Code < 200 && tr.ExpectedSize < 0 {
		if n, ok := ParseTransferSize(full); ok {
			tr.ExpectedSize = n
		}
	}
	if rec.Code >= 200 && st.active == tr {
		st.active = nil
	}
}

// passiveRefused records the refusal of a PASV, EPSV or LPSV (a 4xx or
// 5xx reply to it), for the next transfer.
func (st *sessionState) passiveRefused(pc *pendingCommand, rec ReplyRecord) {
	s := st.s
	if rec.Code >= 400 && len(s.Refusals) < maxInvalidOffers {
		r := &Refusal{Command: pc.verb, Event: pc.ev, Reply: rec}
		s.Refusals = append(s.Refusals, r)
		st.passiveEvent(rec.Time)
		st.refusal = r
	}
}

// passiveKind maps a reply code to the passive announcement it carries.
func passiveKind(code int) OfferKind {
	switch code {
	case 227:
		return OfferPASV
	case 228:
		return OfferLPSV
	case 229:
		return OfferEPSV
	}
	return 0
}

// passiveReply records the endpoint of a 227, 228 or 229 reply.
func (st *sessionState) passiveReply(kind OfferKind, rec ReplyRecord, full string) *Offer {
	var ap netip.AddrPort
	var err error
	switch kind {
	case OfferPASV:
		ap, err = ParsePASV(full)
	case OfferLPSV:
		ap, err = ParseLPSV(full)
	case OfferEPSV:
		var port uint16
		port, err = ParseEPSV(full)
		ap = netip.AddrPortFrom(st.s.Server.Addr(), port)
	}
	o, _ := st.announce(kind, ap, err, rec.Text, rec.Event)
	return o
}

// expectedVerbs lists, for reply codes that answer only some commands, the
// commands they answer. A reply whose code does not fit the oldest pending
// command but fits a later one means the replies to the commands in between
// were lost (a gap in the capture) or never sent.
var expectedVerbs = map[int][]string{
	125: {"LIST", "NLST", "MLSD", "RETR", "STOR", "STOU", "APPE"},
	150: {"LIST", "NLST", "MLSD", "RETR", "STOR", "STOU", "APPE"},
	213: {"SIZE", "MDTM", "STAT"},
	215: {"SYST"},
	221: {"QUIT"},
	227: {"PASV"},
	228: {"LPSV"},
	229: {"EPSV"},
	230: {"USER", "PASS", "ACCT"},
	234: {"AUTH"},
	257: {"PWD", "XPWD", "MKD", "XMKD"},
	331: {"USER"},
	350: {"REST", "RNFR"},
}

// pairIndex returns the index of the pending command a reply answers, or
// -1 when nothing is pending.
func (st *sessionState) pairIndex(code int, at time.Time) int {
	// A reply cannot answer a command sent after it.
	sentBefore := 0
	for sentBefore < len(st.pending) && !st.pending[sentBefore].ev.Time.After(at) {
		sentBefore++
	}
	if sentBefore == 0 {
		return -1
	}
	verbs, specific := expectedVerbs[code]
	if st.resync {
		// After a hole, the replies to the oldest pending commands may be
		// lost: take the newest command sent before the reply that fits.
		st.resync = false
		for i := sentBefore - 1; i >= 0; i-- {
			if !specific || fits(verbs, st.pending[i].verb) {
				return i
			}
		}
		return sentBefore - 1
	}
	if !specific || fits(verbs, st.pending[0].verb) {
		return 0
	}
	for i := 1; i < sentBefore && i < 16; i++ {
		if fits(verbs, st.pending[i].verb) {
			return i
		}
	}
	return 0
}

// fits reports whether verb is one of verbs.
func fits(verbs []string, verb string) bool {
	for _, v := range verbs {
		if v == verb {
			return true
		}
	}
	return false
}

// finish chooses each transfer's data connection and judges it. The
// parser must have completed its last reply (sessionState.release).
func (s *Session) finish(end time.Time) {
	for _, tr := range s.Transfers {
		o := tr.Offer
		if o == nil || len(o.Conns) == 0 {
			tr.judge(s, end)
			continue
		}
		tr.Attempts = o.connsFor(tr)
		tr.Data = bestAttempt(tr.Attempts)
		tr.judge(s, end)
	}
}

// connsFor returns the offer's connections that belong to one of its
// transfers: all of them when one transfer used the offer; otherwise each
// transfer takes the connections that began before the next transfer's
// command.
func (o *Offer) connsFor(tr *Transfer) []*Conn {
	if len(o.Transfers) <= 1 {
		return o.Conns
	}
	var out []*Conn
	for i, t := range o.Transfers {
		if t != tr {
			continue
		}
		for _, c := range o.Conns {
			if i > 0 && c.First.Time.Before(o.Transfers[i].Time) {
				continue
			}
			if i+1 < len(o.Transfers) && !c.First.Time.Before(o.Transfers[i+1].Time) {
				continue
			}
			out = append(out, c)
		}
	}
	return out
}

// bestAttempt picks the connection that carried the transfer: the last
// established one with data, else the last established, else the last.
func bestAttempt(cs []*Conn) *Conn {
	var est *Conn
	for i := len(cs) - 1; i >= 0; i-- {
		c := cs[i]
		if c.Established() {
			if c.Bytes[Client]+c.Bytes[Server] > 0 {
				return c
			}
			if est == nil {
				est = c
			}
		}
	}
	if est != nil {
		return est
	}
	if len(cs) == 0 {
		return nil
	}
	return cs[len(cs)-1]
}
