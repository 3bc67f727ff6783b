package ftpflow

import (
	"testing"

	"ftpdiag/internal/simtrace"
)

// TestGreetingStartsTheStream: a session's greeting is a 220 (or 120/421)
// at the start of the server's stream; a reply of a connection caught
// mid-way is not one, and the one-packet tail of another connection
// carrying a 425 is no session at all.
func TestGreetingStartsTheStream(t *testing.T) {
	tests := []struct {
		name     string
		build    func(tr *simtrace.Trace)
		sessions int
		greeting int // code of the first session's greeting, 0: none
		unpaired int
	}{
		{"stray 425 tail before a session", func(tr *simtrace.Trace) {
			tail := tr.Conv("198.51.100.10:39999", srvCtl)
			tail.Packet(simtrace.Server, "PA", "425 Can't open data connection.\r\n")
			tr.Login(cliCtl, srvCtl)
		}, 1, 220, 0},
		{"caught mid-way: a 226 then commands", func(tr *simtrace.Trace) {
			c := tr.Conv(cliCtl, srvCtl)
			c.Say(simtrace.Server, "226 Transfer complete.\r\n")
			c.Say(simtrace.Client, "PWD\r\n")
			c.Say(simtrace.Server, "257 \"/\"\r\n")
		}, 1, 0, 1},
		{"caught mid-way: a 220 is still a greeting", func(tr *simtrace.Trace) {
			c := tr.Conv(cliCtl, srvCtl)
			c.Say(simtrace.Server, "220 ready\r\n")
		}, 1, 220, 0},
		{"from the SYN: vsftpd's OOPS at connect is the greeting", func(tr *simtrace.Trace) {
			c := tr.Conv(cliCtl, srvCtl).Open()
			c.Say(simtrace.Server, "500 OOPS: vsftpd: refusing to run with writable root inside chroot()\r\n")
		}, 1, 500, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := simtrace.New()
			tt.build(tr)
			r := run(tr)
			if len(r.Sessions) != tt.sessions {
				t.Fatalf("%d sessions, want %d", len(r.Sessions), tt.sessions)
			}
			s := r.Sessions[0]
			got := 0
			if s.Greeting != nil {
				got = s.Greeting.Code
			}
			if s.ID != 1 || got != tt.greeting || len(s.Unpaired) != tt.unpaired {
				t.Errorf("session %d greeting %d unpaired %d, want 1, %d, %d", s.ID, got, len(s.Unpaired), tt.greeting, tt.unpaired)
			}
		})
	}
}

// TestUnterminatedMultiLineReply: a multi-line reply whose closing line
// never comes must not swallow the replies after it: the client's next
// command ends it, as incomplete; one still open at the end of the
// capture is reported, as incomplete, not dropped.
func TestUnterminatedMultiLineReply(t *testing.T) {
	tests := []struct {
		name       string
		script     []string // "C " or "S " and what that side says
		offers     int
		lastCode   int // code of the last reply in the log
		incomplete int // replies logged as incomplete
	}{
		{"211- never closed, then PASV and its 227", []string{"C STAT\r\n",
			"S 211-FTP server status:\r\n     Connected to 198.51.100.10\r\n",
			"C PASV\r\n", "S 227 Entering Passive Mode (203,0,113,5,19,137).\r\n"}, 1, 227, 1},
		{"227- never closed, then PASV again and a 227", []string{"C PASV\r\n", "S 227-Entering Passive Mode\r\n",
			"C PASV\r\n", "S 227 Entering Passive Mode (203,0,113,5,19,138).\r\n"}, 1, 227, 1},
		{"open at the end of the capture", []string{"C FEAT\r\n", "S 211-Features:\r\n EPSV\r\n"}, 0, 211, 1},
		{"closed properly: nothing incomplete", []string{"C FEAT\r\n", "S 211-Features:\r\n EPSV\r\n211 End\r\n",
			"C PASV\r\n", "S 227 Entering Passive Mode (203,0,113,5,19,137).\r\n"}, 1, 227, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := simtrace.New()
			playScript(tr.Login(cliCtl, srvCtl), tt.script)
			s := only(t, track(NewTracker(Config{KeepLog: true}), tr))
			incomplete, last := 0, 0
			for _, e := range s.Log {
				if e.From == Server {
					last = e.Code
					if e.Incomplete {
						incomplete++
					}
				}
			}
			if len(s.Offers) != tt.offers || last != tt.lastCode || incomplete != tt.incomplete {
				t.Errorf("offers %d last reply %d incomplete %d, want %d %d %d", len(s.Offers), last, incomplete, tt.offers, tt.lastCode, tt.incomplete)
			}
		})
	}
}

// playScript has each side of c say its lines of script in turn: "C "
// (client) or "S " (server) and the text.
func playScript(c *simtrace.Conv, script []string) {
	for _, line := range script {
		side := simtrace.Client
		if line[0] == 'S' {
			side = simtrace.Server
		}
		c.Say(side, line[2:])
	}
}
