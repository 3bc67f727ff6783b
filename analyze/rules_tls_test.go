package analyze

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"ftpdiag/ftpflow"
	"ftpdiag/internal/simtrace"
)

// TestEncryptedFixtures: on the FTPS captures without their key logs, the
// data connections paired with the encrypted session by hosts and timing
// have the outcome, direction and pairing confidence the scenario made,
// and each failure is a finding of its own beside the info about the
// encryption (fixtures/README.md, section 18).
func TestEncryptedFixtures(t *testing.T) {
	tests := []struct {
		file     string
		conns    []string // "outcome direction confidence" per paired connection
		findings []string // "kind severity confidence", sorted
		tlsEnd   string   // the first paired connection's TLS end, "" to skip
	}{
		{"18-ftps-pasv-vsftpd-curl-client.pcap", []string{"completed passive likely", "completed passive likely"},
			[]string{"control_channel_encrypted info certain"}, "data"},
		{"18-ftps-tls12-vsftpd-curl-client.pcap", []string{"completed passive likely", "completed passive likely"},
			[]string{"control_channel_encrypted info certain"}, "data"},
		{"18-ftps-pasv-proftpd-lftp-client.pcap", []string{"completed passive likely", "completed passive likely", "completed passive likely"},
			[]string{"control_channel_encrypted info certain"}, "data"},
		{"18-ftps-implicit-vsftpd-curl-client.pcap", []string{"completed passive likely"},
			[]string{"control_channel_encrypted info certain"}, "data"},
		{"18-ftps-pasv-dropped-curl-client.pcap", []string{"syn_unanswered passive likely"},
			[]string{"control_channel_encrypted info certain", "data_syn_unanswered error likely"}, ""},
		{"18-ftps-pasv-dropped-curl-server.pcap", []string{"syn_unanswered passive likely"},
			[]string{"control_channel_encrypted info certain", "data_syn_unanswered error likely"}, ""},
		{"18-ftps-active-client-firewall-curl-client.pcap", []string{"syn_unanswered active likely"},
			[]string{"control_channel_encrypted info certain", "data_syn_unanswered error likely"}, ""},
		{"18-ftps-active-client-firewall-curl-server.pcap", []string{"syn_unanswered active likely"},
			[]string{"control_channel_encrypted info certain", "data_syn_unanswered error likely"}, ""},
		{"18-ftps-nat-helper-blind-curl-client.pcap", []string{"syn_refused passive likely", "syn_refused passive likely"},
			[]string{"control_channel_encrypted info certain", "data_syn_refused error likely"}, ""},
		{"18-ftps-nat-helper-blind-curl-server.pcap", nil,
			[]string{"control_channel_encrypted info certain"}, ""},
		{"18-ftps-ssl-reuse-required-ftplib-client.pcap", []string{"closed_without_data passive likely"},
			[]string{"control_channel_encrypted info certain", "data_fin_without_data error likely"}, "closed_after_handshake"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			a, err := Run(context.Background(), Files("../fixtures/captures/"+tt.file), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Sessions) != 1 {
				t.Fatalf("%d sessions, want 1", len(a.Sessions))
			}
			s := a.Sessions[0]
			var conns []string
			for _, c := range s.EncryptedData {
				e := c.Encrypted()
				if e == nil {
					t.Fatalf("connection %d paired without its pairing", c.ID)
				}
				conns = append(conns, fmt.Sprintf("%s %s %s", c.EncryptedOutcome(), e.Mode, PairingConfidence(c)))
			}
			if !slices.Equal(conns, tt.conns) {
				t.Errorf("paired connections %q, want %q", conns, tt.conns)
			}
			var kinds []string
			for _, f := range a.Findings {
				kinds = append(kinds, fmt.Sprintf("%s %s %s", f.Kind, f.Severity, f.Confidence))
			}
			slices.Sort(kinds)
			if !slices.Equal(kinds, tt.findings) {
				t.Errorf("findings %q, want %q", kinds, tt.findings)
			}
			if tt.tlsEnd != "" {
				c := s.EncryptedData[0]
				if got := c.Encrypted().TLS.End(c).String(); got != tt.tlsEnd {
					t.Errorf("TLS end %s, want %s", got, tt.tlsEnd)
				}
			}
			checkFailureEvidence(t, a.Findings)
		})
	}
}

// checkFailureEvidence: a finding about failed encrypted data connections
// cites their frames and gives a Wireshark filter on their ports.
func checkFailureEvidence(t *testing.T, fs []Finding) {
	t.Helper()
	for _, f := range fs {
		if f.Kind == KindControlEncrypted {
			continue
		}
		if len(f.Refs.Frames) == 0 || !f.Refs.Conn.IsValid() {
			t.Errorf("%s cites frames %v, connection %v", f.Kind, f.Refs.Frames, f.Refs.Conn)
		}
		if !strings.Contains(f.Filter, "tcp.port in {") {
			t.Errorf("%s filter %q names no data port", f.Kind, f.Filter)
		}
		if !strings.Contains(f.Explanation, "TLS") {
			t.Errorf("%s explanation does not say TLS: %q", f.Kind, f.Explanation)
		}
	}
}

// Synthetic TLS records for the branches real stacks here did not produce
// (marked as such: written byte by byte).
const (
	// clientHello12 is a ClientHello record offering TLS 1.2 only, with an
	// empty session ID and no extension: nothing to resume.
	clientHello12 = "\x16\x03\x01\x00\x2d" + "\x01\x00\x00\x29" + "\x03\x03" + rnd32 + "\x00" + "\x00\x02\xc0\x2b" + "\x01\x00"
	// serverHello12 is a TLS 1.2 ServerHello with a new session ID.
	serverHello12 = "\x16\x03\x03\x00\x2a" + "\x02\x00\x00\x26" + "\x03\x03" + rnd32 + "\x00" + "\xc0\x2b" + "\x00"
	rnd32         = "0123456789abcdef0123456789abcdef"
	// fatalHandshakeFailure is an alert record in clear text: fatal (2),
	// handshake_failure (40).
	fatalHandshakeFailure = "\x15\x03\x03\x00\x02\x02\x28"
	ccs                   = "\x14\x03\x03\x00\x01\x01"
	finished12            = "\x16\x03\x03\x00\x28" + rnd32 + "01234567"
	appData               = "\x17\x03\x03\x00\x40" + rnd32 + rnd32
)

// encryptedSession writes an FTPS session up to the 234 and the TLS
// handshake of its control connection.
func encryptedSession(tr *simtrace.Trace) *simtrace.Conv {
	c := tr.Conv("198.51.100.10:40000", "203.0.113.5:21").Open()
	c.Say(simtrace.Server, "220 ready\r\n")
	c.Say(simtrace.Client, "AUTH TLS\r\n")
	c.Say(simtrace.Server, "234 Proceed with negotiation.\r\n")
	c.Say(simtrace.Client, "\x16\x03\x01\x00\x04abcd")
	c.Say(simtrace.Server, "\x16\x03\x03\x00\x04abcd")
	return c
}

// TestEncryptedDataTLS covers the data connections' own TLS endings the
// fixtures do not: an alert in clear text, a close during the handshake, a
// full TLS 1.2 handshake closed without data, one that carried data, and
// the pairing's confidence with and without the control channel's rhythm.
func TestEncryptedDataTLS(t *testing.T) {
	tests := []struct {
		name     string
		rhythm   bool     // a server record just before the data SYN
		server   []string // the data connection's server records, after the client's ClientHello
		client   []string // the client's records after the server's
		outcome  string
		end      string
		finding  string // "kind confidence", "" for none
		contains string
	}{
		{"alert", true, []string{fatalHandshakeFailure}, nil, "closed_without_data", "alert",
			"data_fin_without_data certain", "fatal handshake_failure (40)"},
		{"closed after ClientHello", true, nil, nil, "closed_without_data", "closed_in_handshake",
			"data_fin_without_data likely", "before the handshake completed"},
		{"full handshake, no data", true, []string{serverHello12}, []string{ccs + finished12}, "closed_without_data", "closed_after_handshake",
			"data_fin_without_data possible", "session reuse"},
		{"full handshake, data", true, []string{serverHello12, appData}, []string{ccs + finished12}, "completed", "data", "", ""},
		{"no rhythm", false, []string{serverHello12}, []string{ccs + finished12}, "closed_without_data", "closed_after_handshake",
			"data_fin_without_data possible", "session reuse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := simtrace.New()
			c := encryptedSession(tr)
			tr.Wait(time.Second)
			if tt.rhythm {
				c.Say(simtrace.Client, "\x17\x03\x03\x00\x04PASV")
				c.Say(simtrace.Server, "\x17\x03\x03\x00\x04227.")
			} else {
				c.Say(simtrace.Server, "\x17\x03\x03\x00\x04227.")
				tr.Wait(10 * time.Second)
			}
			d := tr.Conv("198.51.100.10:40100", "203.0.113.5:30000").Open()
			d.Say(simtrace.Client, clientHello12)
			for _, r := range tt.server {
				d.Say(simtrace.Server, r)
			}
			for _, r := range tt.client {
				d.Say(simtrace.Client, r)
			}
			d.Close(simtrace.Server)
			tr.Wait(10 * time.Second)
			c.Say(simtrace.Client, "\x17\x03\x03\x00\x04QUIT")
			c.Close(simtrace.Client)
			a, err := Packets(context.Background(), &source{ps: tr.Packets}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s := a.Sessions[0]
			if len(s.EncryptedData) != 1 {
				t.Fatalf("%d connections paired, want 1", len(s.EncryptedData))
			}
			dc := s.EncryptedData[0]
			e := dc.Encrypted()
			if got := dc.EncryptedOutcome().String(); got != tt.outcome {
				t.Errorf("outcome %s, want %s", got, tt.outcome)
			}
			if got := e.TLS.End(dc).String(); got != tt.end {
				t.Errorf("TLS end %s, want %s (%+v)", got, tt.end, e.TLS)
			}
			if want := map[bool]Confidence{true: Likely, false: Possible}[tt.rhythm]; PairingConfidence(dc) != want {
				t.Errorf("pairing %s, want %s (control record %+v from %s)", PairingConfidence(dc), want, e.ControlRecord, e.ControlFrom)
			}
			var got []Finding
			for _, f := range a.Findings {
				if f.Kind != KindControlEncrypted {
					got = append(got, f)
				}
			}
			switch {
			case tt.finding == "" && len(got) > 0:
				t.Errorf("unexpected %s: %s", got[0].Kind, got[0].Summary)
			case tt.finding != "" && len(got) != 1:
				t.Errorf("%d findings, want %s", len(got), tt.finding)
			case tt.finding != "":
				f := got[0]
				if k := f.Kind + " " + f.Confidence.String(); k != tt.finding {
					t.Errorf("finding %s, want %s", k, tt.finding)
				}
				if !strings.Contains(f.Summary+" "+f.Explanation, tt.contains) {
					t.Errorf("finding does not say %q: %s\n%s", tt.contains, f.Summary, f.Explanation)
				}
			}
		})
	}
}

// TestEncryptedPairingBound: beyond ftpflow.MaxEncryptedDataKept, a
// connection whose timing fits the control channel's rhythm takes the
// place of one paired on hosts and time alone, and one that does not fit
// is left out; both are counted. The failures stay one finding.
func TestEncryptedPairingBound(t *testing.T) {
	tr := simtrace.New()
	c := encryptedSession(tr)
	tr.Wait(10 * time.Second)
	n := ftpflow.MaxEncryptedDataKept
	for i := range n + 1 {
		tr.Conv(fmt.Sprintf("198.51.100.10:%d", 20000+i), fmt.Sprintf("203.0.113.5:%d", 30000+i)).Packet(simtrace.Client, "S", "")
	}
	tr.Wait(10 * time.Second)
	c.Say(simtrace.Client, "\x17\x03\x03\x00\x04PASV")
	c.Say(simtrace.Server, "\x17\x03\x03\x00\x04227.")
	d := tr.Conv("198.51.100.10:50000", "203.0.113.5:40000").Open()
	d.Close(simtrace.Server)
	c.Close(simtrace.Client)
	a, err := Packets(context.Background(), &source{ps: tr.Packets}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := a.Sessions[0]
	if len(s.EncryptedData) != n {
		t.Fatalf("%d connections paired, want %d", len(s.EncryptedData), n)
	}
	if last := s.EncryptedData[n-1]; last.Server.Port() != 40000 || PairingConfidence(last) != Likely {
		t.Errorf("last paired %s (%s), want the one to port 40000, likely", last.Server, PairingConfidence(last))
	}
	if got := s.Dropped.EncryptedData; got != 2 {
		t.Errorf("%d connections counted as not paired, want 2", got)
	}
	unanswered := 0
	for _, f := range a.Findings {
		if f.Kind == KindDataSYNUnanswered {
			unanswered++
			if f.Confidence != Possible || len(f.Filter) > 2000 || f.Evidence["connections_not_listed"] != n-1-maxListedConns {
				t.Errorf("%s: confidence %s, filter of %d bytes, %v not listed", f.Kind, f.Confidence, len(f.Filter), f.Evidence["connections_not_listed"])
			}
		}
	}
	if unanswered != 1 {
		t.Errorf("%d data_syn_unanswered findings, want 1", unanswered)
	}
}
