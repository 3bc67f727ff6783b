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
