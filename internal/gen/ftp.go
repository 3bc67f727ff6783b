package gen

import (
	"fmt"
	"net/netip"
	"strings"
)

// dialect is the reply text of one FTP server implementation.
type dialect struct {
	greeting   string // %s: the server's address
	user       string // %s: the user
	userAnon   string
	pass       string // %s: the user
	passAnon   string
	syst       string
	feat       string
	pwd        string // %s: the directory
	cwd        string
	typeI      string
	pasv       string // %d x6
	epsv       string // %d: the port
	port       string
	eprt       string
	portBad    string
	eprtBad    string
	list150    string
	list226    string
	retr150    string // %s, %d: name, size
	stor150    string // %s: name
	done226    string
	size213    string // %d
	timeout425 string
	refused425 string
	noPort425  string
	writeFail  string
	readFail   string
	goodbye    string
}

// vsftpd and proftpd are the server dialects, as their Debian packages
// answer.
var (
	vsftpd = dialect{
		greeting:   "220 (vsFTPd 3.0.3)",
		user:       "331 Please specify the password.",
		userAnon:   "331 Please specify the password.",
		pass:       "230 Login successful.",
		passAnon:   "230 Login successful.",
		syst:       "215 UNIX Type: L8",
		feat:       "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End",
		pwd:        "257 \"%s\" is the current directory",
		cwd:        "250 Directory successfully changed.",
		typeI:      "200 Switching to Binary mode.",
		pasv:       "227 Entering Passive Mode (%d,%d,%d,%d,%d,%d).",
		epsv:       "229 Entering Extended Passive Mode (|||%d|)",
		port:       "200 PORT command successful. Consider using PASV.",
		eprt:       "200 EPRT command successful. Consider using EPSV.",
		portBad:    "500 Illegal PORT command.",
		eprtBad:    "500 Illegal EPRT command.",
		list150:    "150 Here comes the directory listing.",
		list226:    "226 Directory send OK.",
		retr150:    "150 Opening BINARY mode data connection for %s (%d bytes).",
		stor150:    "150 Ok to send data.",
		done226:    "226 Transfer complete.",
		size213:    "213 %d",
		timeout425: "425 Failed to establish connection.",
		refused425: "425 Failed to establish connection.",
		noPort425:  "425 Use PORT or PASV first.",
		writeFail:  "426 Failure writing network stream.",
		readFail:   "426 Failure reading network stream.",
		goodbye:    "221 Goodbye.",
	}
	proftpd = dialect{
		greeting:   "220 ProFTPD Server (Debian) [%s]",
		user:       "331 Password required for %s",
		userAnon:   "331 Anonymous login ok, send your complete email address as your password",
		pass:       "230 User %s logged in",
		passAnon:   "230 Anonymous access granted, restrictions apply",
		syst:       "215 UNIX Type: L8",
		feat:       "211-Features:\r\n AUTH TLS\r\n CCC\r\n CLNT\r\n EPRT\r\n EPSV\r\n HOST\r\n LANG en-US*\r\n MDTM\r\n MFMT\r\n MLST modify*;perm*;size*;type*;unique*;UNIX.group*;UNIX.mode*;UNIX.owner*;\r\n PBSZ\r\n PROT\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End",
		pwd:        "257 \"%s\" is the current directory",
		cwd:        "250 CWD command successful",
		typeI:      "200 Type set to I",
		pasv:       "227 Entering Passive Mode (%d,%d,%d,%d,%d,%d).",
		epsv:       "229 Entering Extended Passive Mode (|||%d|)",
		port:       "200 PORT command successful",
		eprt:       "200 EPRT command successful",
		portBad:    "500 Illegal PORT command",
		eprtBad:    "500 Illegal EPRT command",
		list150:    "150 Opening ASCII mode data connection for file list",
		list226:    "226 Transfer complete",
		retr150:    "150 Opening BINARY mode data connection for %s (%d bytes)",
		stor150:    "150 Opening BINARY mode data connection for %s",
		done226:    "226 Transfer complete",
		size213:    "213 %d",
		timeout425: "425 Unable to build data connection: Connection timed out",
		refused425: "425 Unable to build data connection: Connection refused",
		noPort425:  "425 Unable to build data connection: Invalid argument",
		writeFail:  "426 Transfer aborted. Data connection closed",
		readFail:   "426 Transfer aborted. Data connection closed",
		goodbye:    "221 Goodbye.",
	}
)

// scenario is one planned transfer: how the endpoint is negotiated and
// what goes wrong.
type scenario struct {
	mode  Mode
	fault Fault
}

// newDeck returns the transfer scenarios of one round, in proportion:
// successes in every mode, then each fault in the modes it applies to.
func newDeck() []scenario {
	var d []scenario
	add := func(n int, m Mode, f Fault) {
		for range n {
			d = append(d, scenario{m, f})
		}
	}
	add(8, ModePASV, FaultNone)
	add(6, ModeEPSV, FaultNone)
	add(6, ModePORT, FaultNone)
	add(4, ModeEPRT, FaultNone)
	add(1, ModePASV, FaultPrivatePASVFallback)
	add(1, ModePASV, FaultPrivatePASVUnreachable)
	add(1, ModePASV, FaultPrivatePASVNoConnect)
	add(1, ModePASV, FaultSYNDropped)
	add(1, ModeEPSV, FaultSYNDropped)
	add(1, ModePORT, FaultSYNDropped)
	add(1, ModeEPRT, FaultSYNDropped)
	add(1, ModeEPSV, FaultSYNRefused)
	add(1, ModePORT, FaultSYNRefused)
	add(1, ModePASV, FaultClosedEmpty)
	add(1, ModeEPRT, FaultClosedEmpty)
	add(1, ModeEPSV, FaultResetMidway)
	add(1, ModePORT, FaultResetMidway)
	add(1, ModePORT, FaultPORTRefused)
	add(1, ModeEPRT, FaultPORTRefused)
	add(1, ModePORT, FaultTupleReuse)
	return d
}

// deal returns the next scenario, shuffling a new round when one is used
// up. IPv6 sessions skip the faults about private IPv4 addresses and use
// the extended commands.
func (g *generator) deal(v6 bool) scenario {
	for {
		if g.deckPos == 0 {
			g.rng.Shuffle(len(g.deck), func(i, j int) { g.deck[i], g.deck[j] = g.deck[j], g.deck[i] })
		}
		s := g.deck[g.deckPos]
		g.deckPos = (g.deckPos + 1) % len(g.deck)
		if !v6 {
			return s
		}
		switch s.fault {
		case FaultPrivatePASVFallback, FaultPrivatePASVUnreachable, FaultPrivatePASVNoConnect, FaultPORTRefused:
			continue
		}
		switch s.mode {
		case ModePASV:
			s.mode = ModeEPSV
		case ModePORT:
			s.mode = ModeEPRT
		}
		return s
	}
}

// tally is what one FTP session plans, counted into Stats if the session
// is kept.
type tally struct {
	outcomes [NumOutcomes]int64
	modes    [NumModes]int64
	faults   [NumFaults]int64
}

// Transfer commands.
const (
	verbLIST = iota
	verbRETR
	verbSTOR
)

// delack is the delayed-ACK timeout of both ends, µs.
const delack = 40000

// ftpSession plans one FTP session.
type ftpSession struct {
	g     *generator
	f     *flow
	p     *tcpPlan // the control connection; the client is near
	d     *dialect
	srv   ftpServer
	cl    endpoint
	v6    bool
	t     int64    // the control connection's clock
	owe   [2]int64 // when each side began to owe an ACK; -1 if not
	tl    tally
	cap   int64  // largest file
	reuse uint16 // client port of the last active connection from port 20
	use20 bool   // make the next active connection come from port 20
	seq   int    // file names
}

// planFTP plans an FTP session of at most about budget bytes.
func (g *generator) planFTP(f *flow, t0, budget int64) tally {
	v6 := g.chance(0.12)
	srv := ftpServerAt(g.rng.IntN(numFTPServers), v6)
	ctrlPort := uint16(21)
	if g.chance(0.05) {
		ctrlPort = 2121
	}
	ci := g.pickClient()
	s := &ftpSession{g: g, f: f, d: srv.dialect, srv: srv, v6: v6, owe: [2]int64{-1, -1}}
	s.cl = endpoint{client(ci, v6), g.ephemeral()}
	s.p = g.newTCP(f, ClassFTPControl, v6, s.cl, endpoint{srv.host, ctrlPort}, 0, srv.rtt)
	n := int(g.between(2, 6))
	s.cap = max(2000, budget/int64(2*n+2))

	t := s.p.handshake(t0)
	greet := s.d.greeting
	if strings.Contains(greet, "%s") {
		greet = fmt.Sprintf(greet, s.addr(srv.ip))
	}
	s.t = t + s.p.rtt + g.between(200, 3000)
	s.say(s.t, 1, greet)
	s.t += s.think()
	users := [...]string{"anonymous", "alice", "bob", "backup", "deploy", "www-data", "ftpuser", "scanner"}
	user := users[g.rng.IntN(len(users))]
	if user == "anonymous" {
		s.exchange("USER anonymous", s.d.userAnon)
		s.exchange("PASS guest@example.com", s.d.passAnon)
	} else {
		s.exchange("USER "+user, s.reply(s.d.user, user))
		s.exchange(fmt.Sprintf("PASS %s%04d!", user, g.rng.IntN(10000)), s.reply(s.d.pass, user))
	}
	if g.chance(0.5) {
		s.exchange("SYST", s.d.syst)
	}
	if g.chance(0.4) {
		s.exchange("FEAT", s.d.feat)
	}
	dir := "/home/" + user
	if user == "anonymous" {
		dir = "/"
	}
	s.exchange("PWD", fmt.Sprintf(s.d.pwd, dir))
	if g.chance(0.3) {
		s.exchange("CWD pub", s.d.cwd)
	}
	s.exchange("TYPE I", s.d.typeI)
	for range n {
		s.transfer(g.deal(v6))
	}
	switch r := g.rng.Float64(); {
	case r < 0.85:
		tr := s.exchange("QUIT", s.d.goodbye)
		s.p.close(tr+g.between(100, 1000), 1)
	case r < 0.95:
		s.p.close(s.t, 0)
	default:
		s.p.seg(s.t, 0, flagRST|flagACK, payNone, 0, 0)
	}
	return s.tl
}

// reply formats a reply that may name its argument.
func (s *ftpSession) reply(format, arg string) string {
	if strings.Contains(format, "%s") {
		return fmt.Sprintf(format, arg)
	}
	return format
}

// addr formats an address held in a host.
func (s *ftpSession) addr(ip [16]byte) string {
	if s.v6 {
		return netip.AddrFrom16(ip).String()
	}
	return netip.AddrFrom4([4]byte(ip[:4])).String()
}

// think returns the client's pause before its next command: a script's,
// mostly, sometimes a person's.
func (s *ftpSession) think() int64 {
	if s.g.chance(0.1) {
		return s.g.logUniform(300000, 3000000)
	}
	return s.g.logUniform(300, 30000)
}

// proc returns a server's processing time before a reply.
func (s *ftpSession) proc() int64 { return s.g.logUniform(100, 3000) }

// say plans one control-connection line from side d at t. A side that
// owes an ACK for longer than the delayed-ACK timeout sends it first.
func (s *ftpSession) say(t int64, d uint8, line string) {
	if o := s.owe[d]; o >= 0 && t > o+delack {
		s.p.ack(o+delack, d)
	}
	s.owe[d] = -1
	line += "\r\n"
	s.p.seg(t, d, flagPSH|flagACK, payLine, len(line), s.f.text(line))
	s.owe[1-d] = t
	if 1-d != s.p.near {
		s.owe[1-d] += s.p.rtt
	}
}

// exchange plans a command and its reply from s.t, moves s.t past the
// client's next pause, and returns the reply's time.
func (s *ftpSession) exchange(cmd, reply string) int64 {
	s.say(s.t, 0, cmd)
	tr := s.t + s.p.rtt + s.proc()
	s.say(tr, 1, reply)
	s.t = tr + s.think()
	return tr
}

// command plans a command whose reply comes later, and returns the time
// the server sees it, as seen from the capture point (one round trip on).
func (s *ftpSession) command(cmd string) int64 {
	s.say(s.t, 0, cmd)
	return s.t + s.p.rtt
}

// count records a transfer in the tally.
func (s *ftpSession) count(m Mode, f Fault, o Outcome) {
	s.tl.modes[m]++
	s.tl.faults[f]++
	s.tl.outcomes[o]++
}

// xfer is one transfer command and its data.
type xfer struct {
	verb int
	name string
	size int
	list uint32 // text index of a listing
}

// newXfer chooses a transfer command and its size.
func (s *ftpSession) newXfer(f Fault) xfer {
	g := s.g
	x := xfer{verb: verbRETR}
	switch r := g.rng.Float64(); {
	case f == FaultClosedEmpty:
	case r < 0.3:
		x.verb = verbLIST
	case r < 0.75:
	default:
		x.verb = verbSTOR
	}
	if x.verb == verbLIST {
		l := s.listing(int(g.between(3, 60)))
		x.list = s.f.text(l)
		x.size = len(l)
		return x
	}
	x.name = s.fileName()
	x.size = int(min(g.logUniform(500, 250000), s.cap))
	return x
}

// cmd returns the transfer command's text.
func (x *xfer) cmd() string {
	switch x.verb {
	case verbLIST:
		return "LIST"
	case verbSTOR:
		return "STOR " + x.name
	}
	return "RETR " + x.name
}

// fileNames are file-name patterns.
var fileNames = [...]string{
	"backup-2024-03-%02d.tar.gz", "report-q%d.pdf", "firmware-2.4.%d.bin", "data_%04d.csv",
	"photo_%04d.jpg", "logs-%d.zip", "invoice-%05d.pdf", "dump-%d.sql.gz",
}

// fileName returns a file name.
func (s *ftpSession) fileName() string {
	s.seq++
	return fmt.Sprintf(fileNames[s.g.rng.IntN(len(fileNames))], s.g.rng.IntN(9000)+s.seq)
}

// listing returns an ls -l listing of n entries, CRLF-terminated.
func (s *ftpSession) listing(n int) string {
	var b strings.Builder
	months := [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	for range n {
		g := s.g
		perm, size := "-rw-r--r--", g.logUniform(100, 900000000)
		name := s.fileName()
		if g.chance(0.15) {
			perm, size, name = "drwxr-xr-x", 4096, name[:strings.IndexAny(name, "-_.")]
		}
		fmt.Fprintf(&b, "%s    1 1000     1000     %10d %s %2d %02d:%02d %s\r\n",
			perm, size, months[g.rng.IntN(12)], g.between(1, 28), g.rng.IntN(24), g.rng.IntN(60), name)
	}
	return b.String()
}

// transfer plans one transfer in scenario sc, with what the fault needs
// before or after it.
func (s *ftpSession) transfer(sc scenario) {
	if sc.fault == FaultTupleReuse {
		if s.reuse == 0 {
			// Reuse needs an earlier active connection from port 20.
			m := ModePORT
			if s.v6 {
				m = ModeEPRT
			}
			s.use20 = true
			s.transfer(scenario{m, FaultNone})
			s.use20 = false
			if s.reuse == 0 {
				return
			}
		}
		sc.mode = ModePORT
		if s.v6 {
			sc.mode = ModeEPRT
		}
	}
	x := s.newXfer(sc.fault)
	if x.verb == verbRETR && (sc.fault == FaultClosedEmpty || s.g.chance(0.4)) {
		s.exchange("SIZE "+x.name, fmt.Sprintf(s.d.size213, x.size))
	}
	if sc.mode.Passive() {
		s.passive(sc, &x)
	} else {
		s.active(sc, &x)
	}
}

// dataConn adds a data connection and returns its planner. Passive: the
// client connects to target; active: the server connects from srcPort to
// the client's port.
func (s *ftpSession) dataConn(passive bool, target host, port, srcPort uint16) *tcpPlan {
	g := s.g
	if passive {
		return g.newTCP(s.f, ClassFTPData, s.v6,
			endpoint{s.cl.host, g.ephemeral()}, endpoint{target, port}, 0, s.p.rtt)
	}
	return g.newTCP(s.f, ClassFTPData, s.v6,
		endpoint{s.srv.host, srcPort}, endpoint{s.cl.host, port}, 1, s.p.rtt)
}

// passive plans a PASV or EPSV transfer.
func (s *ftpSession) passive(sc scenario, x *xfer) {
	g := s.g
	port := uint16(g.between(int64(s.srv.pasvLo), int64(s.srv.pasvHi)))
	target := s.srv.host
	if sc.mode == ModePASV {
		a := [4]byte(s.srv.ip[:4])
		switch sc.fault {
		case FaultPrivatePASVFallback, FaultPrivatePASVUnreachable, FaultPrivatePASVNoConnect:
			a = s.srv.private
		}
		s.exchange("PASV", fmt.Sprintf(s.d.pasv, a[0], a[1], a[2], a[3], port>>8, port&0xff))
		if sc.fault == FaultPrivatePASVUnreachable {
			target = remote([16]byte{a[0], a[1], a[2], a[3]}, uint64(a[3]))
		}
	} else {
		s.exchange("EPSV", fmt.Sprintf(s.d.epsv, port))
	}
	switch sc.fault {
	case FaultPrivatePASVNoConnect:
		seen := s.command(x.cmd())
		s.final(seen+s.srv.timeout+s.proc(), s.d.timeout425)
		s.count(sc.mode, sc.fault, OutcomeNotAttempted)
		return
	case FaultSYNDropped, FaultPrivatePASVUnreachable:
		seen := s.command(x.cmd())
		dp := s.dataConn(true, target, port, 0)
		t425 := seen + s.srv.timeout + s.proc()
		dp.synRetries(s.t+g.between(100, 800), t425)
		s.final(t425, s.d.timeout425)
		s.count(sc.mode, sc.fault, OutcomeSYNUnanswered)
		return
	case FaultSYNRefused:
		seen := s.command(x.cmd())
		dp := s.dataConn(true, target, port, 0)
		syn := s.t + g.between(100, 800)
		dp.seg(syn, 0, flagSYN, payNone, 0, 0)
		dp.refuse(syn+dp.lat(0), 1)
		s.final(seen+s.srv.timeout+s.proc(), s.d.timeout425)
		s.count(sc.mode, sc.fault, OutcomeSYNRefused)
		return
	}
	dp := s.dataConn(true, target, port, 0)
	var t150 int64
	if g.chance(0.7) {
		// Connect, then send the command (curl, lftp).
		ta := dp.handshake(s.t)
		s.t = ta + g.between(50, 500)
		t150 = s.command(x.cmd()) + s.proc()
	} else {
		// Send the command, then connect.
		s.command(x.cmd())
		ta := dp.handshake(s.t + g.between(100, 800))
		t150 = ta + s.p.rtt + s.proc()
	}
	s.data(sc, x, dp, 1, t150)
}

// active plans a PORT or EPRT transfer.
func (s *ftpSession) active(sc scenario, x *xfer) {
	g := s.g
	cport := g.ephemeral()
	src := uint16(20)
	if !s.srv.from20 && !s.use20 && sc.fault != FaultTupleReuse {
		src = g.ephemeral()
	}
	if sc.fault == FaultTupleReuse {
		cport = s.reuse
	}
	ip := s.cl.ip
	if sc.fault == FaultPORTRefused {
		// A client behind NAT announcing its LAN address.
		if g.chance(0.5) {
			ip = [16]byte{10, byte(g.rng.IntN(256)), byte(g.rng.IntN(256)), byte(g.between(2, 254))}
		} else {
			ip = [16]byte{172, byte(g.between(16, 31)), byte(g.rng.IntN(256)), byte(g.between(2, 254))}
		}
	}
	ok, bad := s.d.port, s.d.portBad
	var cmd string
	if sc.mode == ModePORT {
		cmd = fmt.Sprintf("PORT %d,%d,%d,%d,%d,%d", ip[0], ip[1], ip[2], ip[3], cport>>8, cport&0xff)
	} else {
		ok, bad = s.d.eprt, s.d.eprtBad
		af := 1
		if s.v6 {
			af = 2
		}
		cmd = fmt.Sprintf("EPRT |%d|%s|%d|", af, s.addr(ip), cport)
	}
	if sc.fault == FaultPORTRefused {
		s.exchange(cmd, bad)
		s.exchange(x.cmd(), s.d.noPort425)
		s.count(sc.mode, sc.fault, OutcomeNotAttempted)
		// The client falls back to passive mode and tries again.
		s.passive(scenario{ModePASV, FaultNone}, x)
		return
	}
	s.exchange(cmd, ok)
	seen := s.command(x.cmd())
	dp := s.dataConn(false, host{}, cport, src)
	syn := seen + s.proc()
	switch {
	case sc.fault == FaultSYNDropped:
		t425 := syn + s.srv.timeout
		dp.synRetries(syn, t425-s.p.rtt)
		s.final(t425, s.d.timeout425)
		s.count(sc.mode, sc.fault, OutcomeSYNUnanswered)
		return
	case sc.fault == FaultSYNRefused || sc.fault == FaultTupleReuse && g.chance(0.5):
		dp.seg(syn, 0, flagSYN, payNone, 0, 0)
		rst := syn + dp.lat(0)
		dp.refuse(rst, 1)
		s.final(rst+s.p.rtt+s.proc(), s.d.refused425)
		s.count(sc.mode, sc.fault, OutcomeSYNRefused)
		return
	}
	ta := dp.handshake(syn)
	if src == 20 {
		s.reuse = cport
	}
	s.data(sc, x, dp, 0, ta+g.between(50, 500))
}

// final plans the final reply at t and moves the control clock past it.
func (s *ftpSession) final(t int64, reply string) {
	s.say(t, 1, reply)
	s.t = t + s.think()
}

// data plans the 150 reply at t150, the data over the established
// connection dp (the server is side srv of it), the close and the final
// reply, following the scenario's fault.
func (s *ftpSession) data(sc scenario, x *xfer, dp *tcpPlan, srv uint8, t150 int64) {
	g := s.g
	var r150 string
	switch x.verb {
	case verbLIST:
		r150 = s.d.list150
	case verbRETR:
		r150 = fmt.Sprintf(s.d.retr150, x.name, x.size)
	default:
		r150 = s.reply(s.d.stor150, x.name)
	}
	s.say(t150, 1, r150)
	sender := srv
	if x.verb == verbSTOR {
		sender = 1 - srv
	}
	start := t150 + g.between(20, 300)
	if sender != srv {
		start = t150 + g.between(50, 400) // the client answers the 150
	}
	done := s.d.done226
	if x.verb == verbLIST {
		done = s.d.list226
	}
	kind, aux := uint8(payRandom), uint32(0)
	if x.verb == verbLIST {
		kind, aux = payStream, x.list
	}
	switch sc.fault {
	case FaultClosedEmpty:
		dp.close(start, sender)
		final := done
		if g.chance(0.5) {
			final = s.d.writeFail
		}
		s.final(start+g.between(100, 1500), final)
		s.count(sc.mode, sc.fault, OutcomeClosedWithoutData)
		return
	case FaultResetMidway:
		part := max(x.size*int(g.between(10, 80))/100, 1)
		last, lastAck := dp.bulk(start, sender, part, kind, aux, aux)
		rst := max(last, lastAck) + g.between(100, 5000)
		from := 1 - sender // the receiver gives up
		if g.chance(0.5) {
			from = sender
		}
		dp.seg(rst, from, flagRST|flagACK, payNone, 0, 0)
		t426 := rst + s.proc()
		if from != srv {
			t426 += s.p.rtt // the server learns of it a round trip later
		}
		final := s.d.writeFail
		if x.verb == verbSTOR {
			final = s.d.readFail
		}
		s.final(t426, final)
		s.count(sc.mode, sc.fault, OutcomeReset)
		return
	}
	last, lastAck := dp.bulk(start, sender, x.size, kind, aux, aux)
	fin := max(last+g.between(50, 2000), lastAck+g.between(5, 50))
	dp.close(fin, sender)
	t226 := fin + g.between(100, 1500)
	if sender != srv {
		t226 = fin + s.p.rtt + s.proc() // the server reads the client's FIN
	}
	s.final(t226, done)
	s.count(sc.mode, sc.fault, OutcomeCompleted)
}
