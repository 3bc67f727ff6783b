package ftpflow

import (
	"testing"

	"ftpdiag/internal/simtrace"
)

// tlsRecord is a TLS application_data record of 5 bytes.
const tlsRecord = "\x17\x03\x03\x00\x05hello"

// TestProtectedControlChannel: an RFC 2228 exchange (AUTH GSSAPI, 334,
// ADAT and 335, 235, then MIC/ENC commands and 63x replies, as GridFTP
// on port 2811 does) protects the control channel as AUTH TLS does, and a
// control connection that is TLS from its first captured byte was
// protected before the capture began: both say so, and pair their data
// connections by hosts and timing.
func TestProtectedControlChannel(t *testing.T) {
	gssapi := []string{"S 220 GridFTP Server ready\r\n", "C AUTH GSSAPI\r\n",
		"S 334 Using authentication type GSSAPI; ADAT must follow\r\n",
		"C ADAT FgMBAgABAAH8AwNd\r\n", "S 335 ADAT=FgMDAg0LAAIJ\r\n",
		"C ADAT FAMDAAEBFgMDAEA=\r\n", "S 235 ADAT=FAMDAAEBFgMDAEDR\r\n",
		"C ENC FwMDAFy3WoyAHcEb\r\n", "S 633 FwMDAHQ2i9QodBfK\r\n",
		"C MIC FwMDAEe0Wk8Qj0Zw\r\n", "S 631 FwMDAEe0Wk8Qj0Zx\r\n"}
	tests := []struct {
		name       string
		server     string
		handshake  bool
		script     []string
		rfc2228    bool
		before     bool
		acceptedAt int // index in script of the line that protects the channel
	}{
		{"GridFTP GSSAPI", "203.0.113.5:2811", true, gssapi, true, false, 6},
		{"protected commands, exchange not captured", srvCtl, false, gssapi[7:], true, true, 0},
		{"TLS from the first byte, caught mid-way", srvCtl, false, []string{"C " + tlsRecord, "S " + tlsRecord}, false, true, 0},
		{"implicit TLS from the SYN", srvCtl, true, []string{"C " + tlsRecord, "S " + tlsRecord}, false, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := simtrace.New()
			c := tr.Conv(cliCtl, tt.server)
			if tt.handshake {
				c.Open()
			}
			start := len(tr.Packets)
			playScript(c, tt.script)
			d := tr.Conv("198.51.100.10:40100", "203.0.113.5:50000").Open()
			d.Say(simtrace.Server, tlsRecord)
			d.Close(simtrace.Server)
			// Closed, the session is settled with what it learnt (a
			// closed connection's line state is released first).
			c.Close(simtrace.Client)
			s := only(t, run(tr))
			tls := s.TLS
			if !s.ControlEncrypted() || tls.RFC2228 != tt.rfc2228 || tls.Before != tt.before {
				t.Fatalf("protected %v, TLS %+v; want RFC2228 %v before %v", s.ControlEncrypted(), tls, tt.rfc2228, tt.before)
			}
			if want := start + 2*tt.acceptedAt + 1; tls.Accepted.Frame != want {
				t.Errorf("protected from frame %d, want %d", tls.Accepted.Frame, want)
			}
			if len(s.EncryptedData) != 1 || s.BadLines != 0 {
				t.Errorf("%d data connections paired, %d bad lines; want 1, 0", len(s.EncryptedData), s.BadLines)
			}
		})
	}
}
