package analyze

import (
	"context"
	"strings"
	"testing"
	"time"

	"ftpdiag/internal/simtrace"
)

// TestActiveConnectAdvice: a transfer whose data connection is not in the
// capture and that the server answered with 425 is advised by its mode.
// In active mode the server connects, so the advice looks at what stands
// in front of the client, and a 425 saying the connect failed says the
// server tried; in passive mode the client connects, and its log tells
// why it did not.
func TestActiveConnectAdvice(t *testing.T) {
	tests := []struct {
		name      string
		announce  []string // client's command, server's reply
		reply     string
		rem, expl string // wanted in the remediation, the explanation
		notInRem  string
	}{
		{"active, server's connect timed out", []string{"PORT 198,51,100,10,156,64\r\n", "200 PORT command successful.\r\n"},
			"425 Unable to build data connection: Connection timed out\r\n", "what stands in front of the client", "says it did try to connect", "why it did not connect"},
		{"active, vsftpd's words", []string{"PORT 198,51,100,10,156,64\r\n", "200 PORT command successful.\r\n"},
			"425 Failed to establish connection.\r\n", "what stands in front of the client", "says it did try to connect", "why it did not connect"},
		{"active, a 425 that does not say", []string{"PORT 198,51,100,10,156,64\r\n", "200 PORT command successful.\r\n"},
			"425 Can't open data connection.\r\n", "what stands in front of the client", "cannot be told whether the SYN was never sent", "why it did not connect"},
		{"passive: the client connects", []string{"PASV\r\n", "227 Entering Passive Mode (203,0,113,5,117,50).\r\n"},
			"425 Failed to establish connection.\r\n", "why it did not connect", "cannot be told whether the SYN was never sent", "in front of the client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := simtrace.New()
			c := tr.Login("198.51.100.10:40000", "203.0.113.5:21")
			c.Say(simtrace.Client, tt.announce[0])
			c.Say(simtrace.Server, tt.announce[1])
			c.Say(simtrace.Client, "RETR f.bin\r\n")
			tr.Wait(20 * time.Second)
			c.Say(simtrace.Server, tt.reply)
			c.Say(simtrace.Client, "QUIT\r\n")
			c.Say(simtrace.Server, "221 Goodbye.\r\n")
			c.Close(simtrace.Client)
			a, err := Packets(context.Background(), &source{ps: tr.Packets}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range a.Findings {
				if f.Kind != KindDataNotAttempted {
					continue
				}
				if !strings.Contains(f.Remediation, tt.rem) || strings.Contains(f.Remediation, tt.notInRem) || !strings.Contains(f.Explanation, tt.expl) {
					t.Errorf("explanation %q\nremediation %q", f.Explanation, f.Remediation)
				}
				return
			}
			t.Errorf("no %s finding in %+v", KindDataNotAttempted, a.Findings)
		})
	}
}
