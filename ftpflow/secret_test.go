package ftpflow

import (
	"strings"
	"testing"

	"ftpdiag/internal/simtrace"
)

// TestPasswordAfterHole: when the start of a PASS line is missing from
// the capture but acknowledged, the rest must not be read as a command
// and shown ("PA" + "SS sunshine" showed "SS sunshine", "PASS " +
// "sunshine" showed "SUNSHINE"); after a hole following a USER, every
// client line up to the next reply is masked. A hole elsewhere hides
// nothing.
func TestPasswordAfterHole(t *testing.T) {
	tests := []struct {
		name   string
		lost   string   // client bytes missing from the capture, after USER and 331
		script []string // then, as playScript
		shown  []string // client lines as CommandLine shows them, after USER
	}{
		{"PA lost", "PA", []string{"C SS sunshine\r\n", "S 230 ok\r\n", "C PWD\r\n"}, []string{"****", "PWD"}},
		{"PASS and space lost", "PASS ", []string{"C sunshine\r\n", "S 230 ok\r\n"}, []string{"****"}},
		{"a password that reads as a verb", "PASS ", []string{"C list\r\n", "S 230 ok\r\n", "C LIST\r\n"}, []string{"****", "LIST"}},
		{"whole PASS line lost, next command masked until the reply", "PASS sunshine\r\n",
			[]string{"C SYST\r\n", "S 230 ok\r\n", "S 215 UNIX\r\n", "C PWD\r\n"}, []string{"****", "PWD"}},
		{"nothing lost", "", []string{"C PASS sunshine\r\n", "S 230 ok\r\n", "C PWD\r\n"}, []string{"PASS ****", "PWD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := simtrace.New()
			c := tr.Conv(cliCtl, srvCtl).Open()
			playScript(c, []string{"S 220 ready\r\n", "C USER bob\r\n", "S 331 password?\r\n"})
			c.Seq[simtrace.Client] += uint32(len(tt.lost)) // sent, acknowledged, not captured
			playScript(c, tt.script)
			s := only(t, track(NewTracker(Config{KeepLog: true}), tr))
			var shown []string
			for _, e := range s.Log {
				if e.From == Client && e.Verb != "USER" {
					shown = append(shown, e.CommandLine(false))
				}
				if tt.lost != "" && strings.Contains(strings.ToLower(e.Verb+e.Arg), "sunshine") {
					t.Errorf("password kept in the log: %+v", e)
				}
			}
			if strings.Join(shown, "|") != strings.Join(tt.shown, "|") {
				t.Errorf("client lines shown %q, want %q", shown, tt.shown)
			}
		})
	}
}
