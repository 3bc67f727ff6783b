package ftpflow

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

func newSession(t *Tracker, c *Conn, by string) *Session {
	return &Session{
		Control:    c,
		Client:     c.Client,
		Server:     c.Server,
		DetectedBy: by,
		tracker:    t,
		confirmed:  by == "port",
		restart:    -1,
		sizeValue:  -1,
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
func (s *Session) command(line string, ev Event) {
	s.flushOops()
	cmd, err := ParseCommand(line)
	if err != nil {
		s.BadLines++
		if !s.confirmed {
			s.drop()
		}
		return
	}
	if !s.confirmed {
		if !openingVerbs[cmd.Verb] {
			s.drop()
			return
		}
		s.confirmed = true
		s.tracker.number(s)
	}
	s.Commands++
	s.log(LogEntry{From: Client, Verb: cmd.Verb, Arg: clip(cmd.Arg), Event: ev})
	pc := pendingCommand{verb: cmd.Verb, arg: cmd.Arg, ev: ev}
	switch cmd.Verb {
	case "USER":
		if s.User == "" {
			s.User = cmd.Arg
		}
	case "AUTH":
		s.authSent = true
		if s.TLS == nil {
			s.TLS = &TLSInfo{Command: "AUTH " + cmd.Arg, Request: ev}
		}
	case "PASV", "EPSV", "LPSV":
		s.flushOops()
		s.current, s.refusal = nil, nil
	case "PORT":
		s.current = nil
		ap, err := ParsePORT(cmd.Arg)
		pc.offer = s.announce(OfferPORT, ap, err, cmd.Arg, ev)
	case "EPRT":
		s.current = nil
		ap, err := ParseEPRT(cmd.Arg)
		pc.offer = s.announce(OfferEPRT, ap, err, cmd.Arg, ev)
	case "LPRT":
		s.current = nil
		ap, err := ParseLPRT(cmd.Arg)
		pc.offer = s.announce(OfferLPRT, ap, err, cmd.Arg, ev)
	case "REST":
		if n, err := strconv.ParseInt(strings.TrimSpace(cmd.Arg), 10, 64); err == nil && n >= 0 {
			s.restart = n
		}
	case "ABOR":
		if s.active != nil {
			s.active.Aborted = true
		}
	case "QUIT":
		if !s.Quit.Seen() {
			s.Quit = ev
		}
	default:
		if transferVerbs[cmd.Verb] {
			pc.transfer = s.newTransfer(cmd, ev)
		}
	}
	if len(s.pending) >= maxPending {
		s.pending = s.pending[1:]
	}
	s.pending = append(s.pending, pc)
}

// log records a control line, within the bound.
func (s *Session) log(e LogEntry) {
	if !s.tracker.cfg.KeepLog {
		return
	}
	if len(s.Log) >= maxLog {
		s.LogDropped++
		return
	}
	s.Log = append(s.Log, e)
}

// release frees what only parsing needed, once the control connection has
// closed in both directions and the reassembler delivered everything: the
// session then keeps only what the report shows.
func (s *Session) release() {
	s.flushOops()
	s.lines = [2]lineState{}
	s.framer = ReplyFramer{}
	s.pending = nil
}

// drop abandons a connection that was taken for FTP by its greeting but
// whose client does not speak FTP.
func (s *Session) drop() {
	s.dropped = true
}

// newTransfer records a transfer command and links it to the newest offer.
func (s *Session) newTransfer(cmd Command, ev Event) *Transfer {
	tr := &Transfer{
		ID:           len(s.Transfers) + 1,
		Command:      cmd.Verb,
		Arg:          cmd.Arg,
		Event:        ev,
		Restart:      s.restart,
		ExpectedSize: -1,
	}
	s.restart = -1
	tr.Refusal, s.refusal = s.refusal, nil
	if o := s.current; o != nil {
		tr.use(o)
		s.current = nil
	} else if i := s.pendingPassive(); i >= 0 {
		s.pending[i].waiting = tr
	}
	if cmd.Verb == "RETR" && s.sizeValue >= 0 && s.sizeName == cmd.Arg {
		tr.ExpectedSize = s.sizeValue
	}
	s.Transfers = append(s.Transfers, tr)
	s.active = tr
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
func (s *Session) pendingPassive() int {
	for i := len(s.pending) - 1; i >= 0; i-- {
		pc := &s.pending[i]
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

// announce records an endpoint announcement, or why it could not be read.
func (s *Session) announce(kind OfferKind, ap netip.AddrPort, err error, line string, ev Event) *Offer {
	if err != nil {
		if len(s.InvalidOffers) < maxInvalidOffers {
			s.InvalidOffers = append(s.InvalidOffers, InvalidOffer{Kind: kind, Line: clip(line), Err: err.Error(), Event: ev})
		}
		return nil
	}
	o := &Offer{ID: len(s.Offers) + 1, Kind: kind, Endpoint: ap, Line: clip(line), Event: ev, session: s}
	s.Offers = append(s.Offers, o)
	if kind.Passive() {
		s.passiveEvent(ev.Time)
	}
	s.current = o
	s.tracker.addOffer(o)
	return o
}

// maxKeptText bounds the capture text kept per reply or argument.
const maxKeptText = 512

func clip(s string) string {
	if len(s) <= maxKeptText {
		return s
	}
	return s[:maxKeptText]
}

// replyLine handles one line from the server.
func (s *Session) replyLine(line string, ev Event) {
	if !s.framer.Pending() {
		s.replyAt = ev
	}
	r, done := s.framer.Push(line)
	if !done {
		return
	}
	if r.Code == 0 {
		if o := s.oops; o != nil && strings.TrimSpace(r.Text) != "" && len(o.full) < maxKeptText {
			// vsftpd's "500 OOPS: " goes on over lines without a code.
			o.full += strings.TrimSpace(r.Text) + " "
			return
		}
		s.BadLines++
		return
	}
	s.flushOops()
	if r.Code >= 500 && strings.HasPrefix(r.Text, "OOPS:") {
		s.oops = &pendingReply{code: r.Code, full: r.Text, at: s.replyAt}
		return
	}
	s.completeReply(r.Code, r.Text, s.replyAt)
}

// pendingReply is a vsftpd "OOPS" reply waiting for its code-less
// continuation lines.
type pendingReply struct {
	code int
	full string
	at   Event
}

// flushOops completes a pending OOPS reply.
func (s *Session) flushOops() {
	if o := s.oops; o != nil {
		s.oops = nil
		s.completeReply(o.code, strings.TrimSpace(o.full), o.at)
	}
}

// completeReply records a complete reply and pairs it with its command.
func (s *Session) completeReply(code int, text string, at Event) {
	s.Replies++
	s.log(LogEntry{From: Server, Code: code, Text: clip(text), Event: at})
	s.reply(ReplyRecord{Code: code, Text: clip(text), Event: at}, text)
}

// reply pairs a complete reply with the command it answers. full is the
// reply's whole text (rec.Text may be clipped for keeping).
func (s *Session) reply(rec ReplyRecord, full string) {
	if !s.greeted {
		if rec.Code == 120 {
			s.Greeting = &rec
			return
		}
		s.greeted = true
		headIsRein := len(s.pending) > 0 && s.pending[0].verb == "REIN"
		if (rec.Code == 220 && !headIsRein) || len(s.pending) == 0 {
			s.Greeting = &rec
			return
		}
	}
	if rec.Code == 220 && s.Commands == 0 && s.Greeting != nil && len(s.pending) == 0 {
		// A banner sent as several single-line 220 replies.
		s.Greeting.Text = clip(s.Greeting.Text + "\n" + rec.Text)
		return
	}
	i := s.pairIndex(rec.Code, rec.Time)
	if i < 0 {
		s.unpaired(rec)
		if off := passiveKind(rec.Code); off != 0 {
			s.passiveReply(off, rec, full)
		}
		return
	}
	s.pending = s.pending[i:]
	pc := &s.pending[0]
	s.answer(pc, rec, full)
	if rec.Code >= 200 {
		s.pending = s.pending[1:]
	}
}

func (s *Session) unpaired(rec ReplyRecord) {
	if len(s.Unpaired) < maxUnpaired {
		s.Unpaired = append(s.Unpaired, rec)
	}
}

// answer applies a reply to the command it answers.
func (s *Session) answer(pc *pendingCommand, rec ReplyRecord, full string) {
	if off := passiveKind(rec.Code); off != 0 {
		if o := s.passiveReply(off, rec, full); o != nil && pc.waiting != nil && pc.waiting.Offer == nil {
			pc.waiting.use(o)
			s.current = nil
		}
	}
	switch {
	case pc.transfer != nil:
		tr := pc.transfer
		tr.Replies = append(tr.Replies, rec)
		if rec.Code < 200 && tr.ExpectedSize < 0 {
			if n, ok := ParseTransferSize(full); ok {
				tr.ExpectedSize = n
			}
		}
		if rec.Code >= 200 && s.active == tr {
			s.active = nil
		}
	case pc.offer != nil:
		if pc.offer.Answer == nil {
			r := rec
			pc.offer.Answer = &r
		}
	case pc.verb == "AUTH":
		if rec.Code == 234 && s.TLS != nil && !s.TLS.Accepted.Seen() {
			s.TLS.Accepted = rec.Event
			s.tracker.tlsStarted(s)
		}
	case pc.verb == "PASV" || pc.verb == "EPSV" || pc.verb == "LPSV":
		if rec.Code >= 400 && len(s.Refusals) < maxInvalidOffers {
			r := &Refusal{Command: pc.verb, Event: pc.ev, Reply: rec}
			s.Refusals = append(s.Refusals, r)
			s.passiveEvent(rec.Time)
			s.refusal = r
		}
	case pc.verb == "SIZE":
		if rec.Code == 213 {
			if n, ok := ParseSizeReply(full); ok {
				s.sizeName, s.sizeValue = pc.arg, n
			}
		}
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
func (s *Session) passiveReply(kind OfferKind, rec ReplyRecord, full string) *Offer {
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
		ap = netip.AddrPortFrom(s.Server.Addr(), port)
	}
	return s.announce(kind, ap, err, rec.Text, rec.Event)
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
func (s *Session) pairIndex(code int, at time.Time) int {
	// A reply cannot answer a command sent after it.
	sentBefore := 0
	for sentBefore < len(s.pending) && !s.pending[sentBefore].ev.Time.After(at) {
		sentBefore++
	}
	if sentBefore == 0 {
		return -1
	}
	verbs, specific := expectedVerbs[code]
	if s.resync {
		// After a hole, the replies to the oldest pending commands may be
		// lost: take the newest command sent before the reply that fits.
		s.resync = false
		for i := sentBefore - 1; i >= 0; i-- {
			if !specific || fits(verbs, s.pending[i].verb) {
				return i
			}
		}
		return sentBefore - 1
	}
	if !specific || fits(verbs, s.pending[0].verb) {
		return 0
	}
	for i := 1; i < sentBefore && i < 16; i++ {
		if fits(verbs, s.pending[i].verb) {
			return i
		}
	}
	return 0
}

func fits(verbs []string, verb string) bool {
	for _, v := range verbs {
		if v == verb {
			return true
		}
	}
	return false
}

// finish chooses each transfer's data connection and judges it.
func (s *Session) finish(end time.Time) {
	s.flushOops()
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
