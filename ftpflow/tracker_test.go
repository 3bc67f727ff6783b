package ftpflow

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"ftpdiag/internal/simtrace"
	"ftpdiag/pcap"
)

const (
	cliCtl = "198.51.100.10:40000"
	srvCtl = "203.0.113.5:21"
)

// only returns the single session of a result.
func only(t *testing.T, r *Result) *Session {
	t.Helper()
	if len(r.Sessions) != 1 {
		t.Fatalf("%d sessions, want 1", len(r.Sessions))
	}
	return r.Sessions[0]
}

func transferOf(t *testing.T, s *Session, i int) *Transfer {
	t.Helper()
	if len(s.Transfers) <= i {
		t.Fatalf("%d transfers, want at least %d", len(s.Transfers), i+1)
	}
	return s.Transfers[i]
}

func wantOutcome(t *testing.T, tr *Transfer, outcome Outcome, status Status) {
	t.Helper()
	if tr.Outcome != outcome || tr.Status != status {
		t.Errorf("%s: outcome %s status %s, want %s %s", tr.Command, tr.Outcome, tr.Status, outcome, status)
	}
}

// TestPassiveIgnoredAddress: the 227 names the server's private address
// (behind NAT); the client connects to the control address with the
// announced port, as curl does. The data connection must still be linked.
func TestPassiveIgnoredAddress(t *testing.T) {
	tr := simtrace.New()
	c := tr.Login(cliCtl, srvCtl)
	c.Say(simtrace.Client, "PASV\r\n")
	c.Say(simtrace.Server, "227 Entering Passive Mode (172,16,40,222,90,160).\r\n")
	d := tr.Conv("198.51.100.10:40001", "203.0.113.5:23200").Open()
	c.Say(simtrace.Client, "RETR file.bin\r\n")
	c.Say(simtrace.Server, "150 Opening BINARY mode data connection for file.bin (3000 bytes).\r\n")
	d.Say(simtrace.Server, string(make([]byte, 1500)))
	d.Say(simtrace.Server, string(make([]byte, 1500)))
	d.Close(simtrace.Server)
	c.Say(simtrace.Server, "226 Transfer complete.\r\n")
	s := only(t, run(tr))
	x := transferOf(t, s, 0)
	if x.Offer == nil || x.Offer.Endpoint.String() != "172.16.40.222:23200" {
		t.Fatalf("offer %+v, want 172.16.40.222:23200", x.Offer)
	}
	if x.Data == nil || x.Data.Server.String() != "203.0.113.5:23200" {
		t.Fatalf("data connection %+v, want the one to 203.0.113.5:23200", x.Data)
	}
	wantOutcome(t, x, OutcomeCompleted, StatusOK)
	if x.Data.Bytes[Server] != 3000 || x.ExpectedSize != 3000 || x.Mode != ModePassive {
		t.Errorf("bytes %d expected %d mode %s", x.Data.Bytes[Server], x.ExpectedSize, x.Mode)
	}
}

// TestActiveAnySourcePortAndNewestOffer: an EPRT after an unused PORT is
// the one the transfer uses, and the server's connection from an ephemeral
// port (not 20) is linked.
func TestActiveAnySourcePortAndNewestOffer(t *testing.T) {
	tr := simtrace.New()
	c := tr.Login(cliCtl, srvCtl)
	c.Say(simtrace.Client, "PORT 198,51,100,10,175,200\r\n") // 45000, never used
	c.Say(simtrace.Server, "200 PORT command successful.\r\n")
	c.Say(simtrace.Client, "EPRT |1|198.51.100.10|45001|\r\n")
	c.Say(simtrace.Server, "200 EPRT command successful.\r\n")
	c.Say(simtrace.Client, "LIST\r\n")
	d := tr.Conv("203.0.113.5:33333", "198.51.100.10:45001").Open()
	c.Say(simtrace.Server, "150 Here comes the directory listing.\r\n")
	d.Say(simtrace.Client, "drwxr-xr-x 2 0 0 4096 Jan 1 pub\r\n")
	d.Close(simtrace.Client)
	c.Say(simtrace.Server, "226 Directory send OK.\r\n")
	s := only(t, run(tr))
	if len(s.Offers) != 2 {
		t.Fatalf("%d offers, want 2 (every announcement is listed)", len(s.Offers))
	}
	x := transferOf(t, s, 0)
	if x.Offer != s.Offers[1] || x.Offer.Kind != OfferEPRT {
		t.Fatalf("transfer uses offer %+v, want the newest (EPRT)", x.Offer)
	}
	if len(s.Offers[0].Transfers) != 0 || len(s.Offers[0].Conns) != 0 {
		t.Error("the unused PORT got a transfer or connection")
	}
	wantOutcome(t, x, OutcomeCompleted, StatusOK)
	if x.Mode != ModeActive || x.Data.Client.Port() != 33333 || x.Data.Bytes[Client] != 33 {
		t.Errorf("mode %s data %v bytes %d", x.Mode, x.Data.Client, x.Data.Bytes[Client])
	}
}

// TestReplyFraming covers 227 inside a multi-line reply, a 227 split across
// segments, pipelined commands and an unsolicited 421.
func TestReplyFraming(t *testing.T) {
	tests := []struct {
		name   string
		script func(c *simtrace.Conv)
		offers []string
		check  func(t *testing.T, s *Session)
	}{
		{"multi-line 227", func(c *simtrace.Conv) {
			c.Say(simtrace.Client, "PASV\r\n")
			c.Say(simtrace.Server, "227-Entering Passive Mode (203,0,113,5,19,137)\r\n227 OK\r\n")
		}, []string{"203.0.113.5:5001"}, nil},
		{"227 split across segments", func(c *simtrace.Conv) {
			c.Say(simtrace.Client, "PASV\r\n")
			c.Packet(simtrace.Server, "PA", "227 Entering Pass")
			c.Packet(simtrace.Server, "PA", "ive Mode (203,0,113,5,19,138).\r\n")
		}, []string{"203.0.113.5:5002"}, nil},
		{"pipelined PASV and LIST", func(c *simtrace.Conv) {
			c.Say(simtrace.Client, "PASV\r\nLIST\r\n")
			c.Say(simtrace.Server, "227 Entering Passive Mode (203,0,113,5,19,139).\r\n")
			c.Say(simtrace.Server, "150 Here comes the listing.\r\n")
			c.Say(simtrace.Server, "226 Directory send OK.\r\n")
		}, []string{"203.0.113.5:5003"}, func(t *testing.T, s *Session) {
			x := transferOf(t, s, 0)
			if x.Offer == nil || len(x.Replies) != 2 || x.Status != StatusOK {
				t.Errorf("LIST: offer %v replies %v", x.Offer, x.Replies)
			}
		}},
		{"unsolicited 421", func(c *simtrace.Conv) {
			c.Say(simtrace.Server, "421 Timeout.\r\n")
			c.Close(simtrace.Server)
		}, nil, func(t *testing.T, s *Session) {
			if len(s.Unpaired) != 1 || s.Unpaired[0].Code != 421 {
				t.Errorf("unpaired %v, want the 421", s.Unpaired)
			}
		}},
		{"LPSV and LPRT", func(c *simtrace.Conv) {
			c.Say(simtrace.Client, "LPSV\r\n")
			c.Say(simtrace.Server, "228 Entering Long Passive Mode (4,4,203,0,113,5,2,19,140)\r\n")
			c.Say(simtrace.Client, "LPRT 4,4,198,51,100,10,2,19,141\r\n")
			c.Say(simtrace.Server, "200 LPRT command successful.\r\n")
		}, []string{"203.0.113.5:5004", "198.51.100.10:5005"}, nil},
		{"EPSV takes the control address", func(c *simtrace.Conv) {
			c.Say(simtrace.Client, "EPSV\r\n")
			c.Say(simtrace.Server, "229 Entering Extended Passive Mode (|||5006|)\r\n")
		}, []string{"203.0.113.5:5006"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := simtrace.New()
			tt.script(tr.Login(cliCtl, srvCtl))
			s := only(t, run(tr))
			var got []string
			for _, o := range s.Offers {
				got = append(got, o.Endpoint.String())
			}
			if len(got) != len(tt.offers) {
				t.Fatalf("offers %v, want %v", got, tt.offers)
			}
			for i := range got {
				if got[i] != tt.offers[i] {
					t.Errorf("offer %d = %s, want %s", i, got[i], tt.offers[i])
				}
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

// TestOutcomes drives one passive RETR through each way a data connection
// can end.
func TestOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		data    func(tr *simtrace.Trace, d *simtrace.Conv)
		size    string // SIZE reply, if any
		replies []string
		outcome Outcome
		status  Status
	}{
		{"completed", func(tr *simtrace.Trace, d *simtrace.Conv) {
			d.Open()
			d.Say(simtrace.Server, "hello")
			d.Close(simtrace.Server)
		}, "", []string{"150 Opening.", "226 Transfer complete."}, OutcomeCompleted, StatusOK},
		{"syn unanswered", func(tr *simtrace.Trace, d *simtrace.Conv) {
			d.Packet(simtrace.Client, "S", "")
			tr.Wait(time.Second)
			d.Seq[simtrace.Client]--
			d.Packet(simtrace.Client, "S", "")
			tr.Wait(2 * time.Second)
			d.Seq[simtrace.Client]--
			d.Packet(simtrace.Client, "S", "")
			tr.Wait(4 * time.Second)
		}, "", []string{"425 Failed to establish connection."}, OutcomeSYNUnanswered, StatusFailed},
		{"syn refused", func(tr *simtrace.Trace, d *simtrace.Conv) {
			d.Packet(simtrace.Client, "S", "")
			d.Packet(simtrace.Server, "RA", "")
		}, "", []string{"425 Failed to establish connection."}, OutcomeSYNRefused, StatusFailed},
		{"closed without data though 150 announced bytes", func(tr *simtrace.Trace, d *simtrace.Conv) {
			d.Open()
			d.Close(simtrace.Server)
		}, "", []string{"150 Opening BINARY mode data connection for f (1234 bytes).", "226 Transfer complete."}, OutcomeClosedWithoutData, StatusOK},
		{"legitimate empty file (SIZE 0)", func(tr *simtrace.Trace, d *simtrace.Conv) {
			d.Open()
			d.Close(simtrace.Server)
		}, "213 0", []string{"150 Opening.", "226 Transfer complete."}, OutcomeCompleted, StatusOK},
		{"reset mid-way", func(tr *simtrace.Trace, d *simtrace.Conv) {
			d.Open()
			d.Say(simtrace.Server, string(make([]byte, 1000)))
			d.Packet(simtrace.Client, "RA", "")
		}, "", []string{"150 Opening.", "426 Failure writing network stream."}, OutcomeReset, StatusFailed},
		{"not captured", func(tr *simtrace.Trace, d *simtrace.Conv) {}, "", []string{"150 Opening.", "226 Transfer complete."}, OutcomeNotCaptured, StatusOK},
		{"not attempted", func(tr *simtrace.Trace, d *simtrace.Conv) {}, "", []string{"425 Can't open data connection."}, OutcomeNotAttempted, StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := simtrace.New()
			c := tr.Login(cliCtl, srvCtl)
			if tt.size != "" {
				c.Say(simtrace.Client, "SIZE f\r\n")
				c.Say(simtrace.Server, tt.size+"\r\n")
			}
			c.Say(simtrace.Client, "PASV\r\n")
			c.Say(simtrace.Server, "227 Entering Passive Mode (203,0,113,5,195,80).\r\n")
			c.Say(simtrace.Client, "RETR f\r\n")
			tt.data(tr, tr.Conv("198.51.100.10:40001", "203.0.113.5:50000"))
			for _, r := range tt.replies {
				c.Say(simtrace.Server, r+"\r\n")
			}
			c.Say(simtrace.Client, "QUIT\r\n")
			c.Say(simtrace.Server, "221 Goodbye.\r\n")
			c.Close(simtrace.Server)
			wantOutcome(t, transferOf(t, only(t, run(tr)), 0), tt.outcome, tt.status)
		})
	}
}

// TestTupleReuse: a client that binds its PORT listener to a fixed port
// makes the server's second data connection reuse the first one's 5-tuple.
func TestTupleReuse(t *testing.T) {
	tr := simtrace.New()
	c := tr.Login(cliCtl, srvCtl)
	tr.FixedPortListings(c, 2, 5*time.Second)
	s := only(t, run(tr))
	first, second := transferOf(t, s, 0).Data, transferOf(t, s, 1).Data
	if first == nil || second == nil || first == second {
		t.Fatalf("data connections %v %v", first, second)
	}
	p := second.Previous
	if p == nil || p.ConnID != first.ID || p.FirstFIN != Client || !p.BothFIN || p.Reset {
		t.Fatalf("previous incarnation %+v, want connection %d closed first by its client", p, first.ID)
	}
	if gap := second.SYNs[0].Time.Sub(p.Closed.Time); gap <= 0 || gap > 10*time.Second {
		t.Errorf("gap %v", gap)
	}
}

// TestRetransmissionsAndDuplicates: a TCP retransmission counts, a packet
// the capture holds twice does not.
func TestRetransmissionsAndDuplicates(t *testing.T) {
	tr := simtrace.New()
	c := tr.Login(cliCtl, srvCtl)
	p := c.Packet(simtrace.Client, "PA", "NOOP\r\n")
	dup := *p
	dup.Frame = len(tr.Packets) + 1
	dup.Timestamp = p.Timestamp.Add(100 * time.Microsecond)
	tr.Packets = append(tr.Packets, &dup)
	tr.Wait(300 * time.Millisecond)
	c.Seq[simtrace.Client] -= 6
	c.Packet(simtrace.Client, "PA", "NOOP\r\n") // retransmission
	c.Say(simtrace.Server, "200 NOOP ok.\r\n")
	r := run(tr)
	s := only(t, r)
	if s.Control.Retransmissions[Client] != 1 || r.Stats.Duplicates != 1 {
		t.Errorf("retransmissions %d duplicates %d, want 1 and 1", s.Control.Retransmissions[Client], r.Stats.Duplicates)
	}
	if s.Commands != 3 { // USER, PASS, NOOP once
		t.Errorf("%d commands, want 3 (a retransmitted command is not a new one)", s.Commands)
	}
}

// TestOutOfOrderControl: reply segments captured out of order are put back
// in order by the reassembler.
func TestOutOfOrderControl(t *testing.T) {
	tr := simtrace.New()
	c := tr.Login(cliCtl, srvCtl)
	c.Say(simtrace.Client, "PASV\r\n")
	first := c.Packet(simtrace.Server, "PA", "227 Entering Passive ")
	second := c.Packet(simtrace.Server, "PA", "Mode (203,0,113,5,19,150).\r\n")
	n := len(tr.Packets)
	tr.Packets[n-2], tr.Packets[n-1] = second, first
	second.Timestamp, first.Timestamp = first.Timestamp, second.Timestamp
	c.Packet(simtrace.Client, "A", "")
	s := only(t, run(tr))
	if len(s.Offers) != 1 || s.Offers[0].Endpoint.Port() != 5014 {
		t.Fatalf("offers %v", s.Offers)
	}
}

// TestEncryptedControl: after AUTH TLS and 234 the control bytes are TLS
// records; connections between the hosts are paired by hosts and timing.
func TestEncryptedControl(t *testing.T) {
	tr := simtrace.New()
	c := tr.Conv(cliCtl, srvCtl).Open()
	c.Say(simtrace.Server, "220 FTP ready\r\n")
	c.Say(simtrace.Client, "AUTH TLS\r\n")
	c.Say(simtrace.Server, "234 Proceed with negotiation.\r\n")
	c.Say(simtrace.Client, "\x16\x03\x01\x00\x05hello")
	c.Say(simtrace.Server, "\x16\x03\x03\x00\x0aserverdata\x17\x03\x03\x00\x03abc")
	d := tr.Conv("198.51.100.10:40001", "203.0.113.5:50000").Open()
	d.Say(simtrace.Server, "\x17\x03\x03\x00\x02xx")
	d.Close(simtrace.Server)
	s := only(t, run(tr))
	if !s.ControlEncrypted() || s.TLS.Command != "AUTH TLS" || !s.TLS.Handshake.Seen() {
		t.Fatalf("tls %+v", s.TLS)
	}
	if s.BadLines != 0 || s.Commands != 1 {
		t.Errorf("bad lines %d commands %d: TLS records parsed as FTP", s.BadLines, s.Commands)
	}
	if len(s.EncryptedData) != 1 {
		t.Errorf("%d data connections paired by hosts and timing, want 1", len(s.EncryptedData))
	}
}

// TestContentDetection: FTP on port 2121 is found by its greeting and
// commands; an SMTP server's 220 answered by EHLO is not FTP.
func TestContentDetection(t *testing.T) {
	tr := simtrace.New()
	tr.Login(cliCtl, "203.0.113.5:2121")
	smtp := tr.Conv("198.51.100.10:40002", "203.0.113.5:25").Open()
	smtp.Say(simtrace.Server, "220 mail ESMTP\r\n")
	smtp.Say(simtrace.Client, "EHLO client\r\n")
	s := only(t, run(tr))
	if s.DetectedBy != "content" || s.Server.Port() != 2121 || s.User != "anonymous" {
		t.Errorf("session %s detected by %s user %q", s.Server, s.DetectedBy, s.User)
	}
}

// TestIPv6EPSV: EPSV over IPv6 links the client's connection.
func TestIPv6EPSV(t *testing.T) {
	tr := simtrace.New()
	c := tr.Login("[2001:db8::10]:40000", "[2001:db8::5]:21")
	c.Say(simtrace.Client, "EPSV\r\n")
	c.Say(simtrace.Server, "229 Entering Extended Passive Mode (|||50001|)\r\n")
	c.Say(simtrace.Client, "LIST\r\n")
	d := tr.Conv("[2001:db8::10]:40001", "[2001:db8::5]:50001").Open()
	c.Say(simtrace.Server, "150 Here comes the directory listing.\r\n")
	d.Say(simtrace.Server, "x\r\n")
	d.Close(simtrace.Server)
	c.Say(simtrace.Server, "226 Directory send OK.\r\n")
	x := transferOf(t, only(t, run(tr)), 0)
	wantOutcome(t, x, OutcomeCompleted, StatusOK)
	if x.Offer.Kind != OfferEPSV || x.Data == nil {
		t.Errorf("offer %v data %v", x.Offer, x.Data)
	}
}

// run tracks a built trace and returns the result.
func run(tr *simtrace.Trace) *Result { return track(NewTracker(Config{}), tr) }

// track feeds a built trace to tk and returns the result.
func track(tk *Tracker, tr *simtrace.Trace) *Result {
	d := pcap.NewDecoder()
	for _, p := range tr.Packets {
		tk.Packet(p, d.Decode(p))
	}
	return tk.Finish()
}

// TestHostileControl: a 10 MB reply line, NUL and invalid UTF-8 bytes, and
// lines without CR: the line is cut at maxLineLen and counted, the session
// goes on.
func TestHostileControl(t *testing.T) {
	tr := simtrace.New()
	c := tr.Login(cliCtl, srvCtl)
	c.Say(simtrace.Client, "SYST\n") // LF only
	long := "215 " + strings.Repeat("A", 10<<20) + "\r\n"
	for len(long) > 0 {
		n := min(1400, len(long))
		c.Packet(simtrace.Server, "PA", long[:n])
		long = long[n:]
	}
	c.Packet(simtrace.Client, "A", "")
	c.Say(simtrace.Client, "CWD \x00\xff\xfe\r\n")
	c.Say(simtrace.Server, "250 ok\r\n")
	c.Say(simtrace.Client, "PASV\r\n")
	c.Say(simtrace.Server, "227 Entering Passive Mode (203,0,113,5,19,137)\r\n")
	s := only(t, run(tr))
	if s.LongLines != 1 || s.Commands != 5 || len(s.Offers) != 1 {
		t.Errorf("long lines %d commands %d offers %d", s.LongLines, s.Commands, len(s.Offers))
	}
}

// TestSessionBound: beyond MaxSessions, sessions are counted, not kept.
func TestSessionBound(t *testing.T) {
	tr := simtrace.New()
	for i := range 30 {
		tr.Login(fmt.Sprintf("198.51.100.10:%d", 40000+i), srvCtl)
	}
	tk := NewTracker(Config{MaxSessions: 10})
	d := pcap.NewDecoder()
	for _, p := range tr.Packets {
		tk.Packet(p, d.Decode(p))
	}
	r := tk.Finish()
	if len(r.Sessions) != 10 || r.Stats.DroppedSessions != 20 {
		t.Errorf("%d sessions kept, %d dropped", len(r.Sessions), r.Stats.DroppedSessions)
	}
}
