package ftpflow

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"ftpdiag/tlsdecrypt"
)

// The FTP dialogue spoken over TLS by ftpsTranscript.
var (
	ftpsCommands = []string{"USER anonymous\r\n", "PASV\r\n", "RETR data.bin\r\n"}
	ftpsReplies  = []string{"230 Login successful.\r\n", "227 Entering Passive Mode (10,0,0,1,117,48).\r\n", "150 Opening BINARY mode data connection.\r\n226 Transfer complete.\r\n"}
)

// streamRecorder keeps a copy of what a connection wrote.
type streamRecorder struct {
	net.Conn
	mu  sync.Mutex
	out bytes.Buffer
}

func (r *streamRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.out.Write(p)
	r.mu.Unlock()
	return r.Conn.Write(p)
}

// ftpsTranscript runs the dialogue between a crypto/tls client and server
// (TLS 1.3) over net.Pipe, and returns the bytes each side sent and the
// client's key log: real TLS records and their secrets.
func ftpsTranscript(t testing.TB) (client, server, keylog []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"ftp.example"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cp, sp := net.Pipe()
	deadline := time.Now().Add(30 * time.Second)
	cp.SetDeadline(deadline)
	sp.SetDeadline(deadline)
	crec, srec := &streamRecorder{Conn: cp}, &streamRecorder{Conn: sp}
	var kl bytes.Buffer
	srv := tls.Server(srec, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS13})
	cli := tls.Client(crec, &tls.Config{InsecureSkipVerify: true, ServerName: "ftp.example", KeyLogWriter: &kl, MinVersion: tls.VersionTLS13})
	errc := make(chan error, 2)
	go func() {
		defer srv.Close()
		r := bufio.NewReader(srv)
		for _, reply := range ftpsReplies {
			if _, err := r.ReadString('\n'); err != nil {
				errc <- err
				return
			}
			if _, err := io.WriteString(srv, reply); err != nil {
				errc <- err
				return
			}
		}
		_, err := r.ReadByte() // the client's close_notify
		if err == io.EOF {
			err = nil
		}
		errc <- err
	}()
	go func() {
		_, err := io.WriteString(cli, strings.Join(ftpsCommands, ""))
		errc <- err
	}()
	want := strings.Join(ftpsReplies, "")
	got := make([]byte, len(want))
	if _, err := io.ReadFull(cli, got); err != nil || string(got) != want {
		t.Fatalf("client read %q, %v", got, err)
	}
	cli.Close()
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	return crec.out.Bytes(), srec.out.Bytes(), kl.Bytes()
}

// ftpsSession is a session on a control connection to port 21 whose
// client sent AUTH TLS and got 234, ready for TLS records.
func ftpsSession(t testing.TB, keys *tlsdecrypt.KeyLog) *sessionState {
	t.Helper()
	tk := NewTracker(Config{KeepLog: true, KeyLog: keys})
	c := &Conn{Client: netip.MustParseAddrPort("198.51.100.10:40000"), Server: netip.MustParseAddrPort("203.0.113.10:21"), Handshake: true}
	st := newSession(tk, c, "port")
	c.session = st
	st.feed(Server, []byte("220 ready\r\n"), frameAt(1))
	st.feed(Client, []byte("AUTH TLS\r\n"), frameAt(2))
	st.feed(Server, []byte("234 go\r\n"), frameAt(3))
	return st
}

// frameAt maps every offset to frame n, one second after the epoch per
// frame.
func frameAt(n int) func(int) Event {
	return func(int) Event { return Event{Frame: n, Time: time.Unix(int64(n), 0)} }
}

// feedTLS feeds the two streams in pieces of at most piece bytes, taking
// turns, from frame 10 on; it returns the frame of each side's last
// piece.
func feedTLS(st *sessionState, client, server []byte, piece int) (last [2]int) {
	frame := 10
	streams := [2][]byte{client, server}
	for len(streams[0])+len(streams[1]) > 0 {
		for side := range streams {
			n := min(piece, len(streams[side]))
			if n == 0 {
				continue
			}
			st.feed(Side(side), streams[side][:n], frameAt(frame))
			last[side] = frame
			streams[side] = streams[side][n:]
			frame++
		}
	}
	return last
}

// TestDecryptedControl: with the key log, the dialogue inside TLS is read
// as clear text (commands, replies, the PASV endpoint), whatever the
// segmentation; without it, or with a hole in the stream, the records
// are skipped and the decryption says why.
func TestDecryptedControl(t *testing.T) {
	client, server, keylog := ftpsTranscript(t)
	keys, err := tlsdecrypt.ParseKeyLog(bytes.NewReader(keylog))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		keys     *tlsdecrypt.KeyLog
		piece    int
		hole     bool
		commands int // after AUTH
		state    tlsdecrypt.State
		keyLog   bool
	}{
		{"whole records", keys, 1 << 16, false, 3, tlsdecrypt.StateDecrypting, true},
		{"byte by byte", keys, 1, false, 3, tlsdecrypt.StateDecrypting, true},
		{"odd pieces", keys, 7, false, 3, tlsdecrypt.StateDecrypting, true},
		{"no key log", nil, 100, false, 0, tlsdecrypt.StateNoKeys, false},
		{"other connection's keys", mustKeyLog(t, "CLIENT_RANDOM "+strings.Repeat("00", 32)+" "+strings.Repeat("11", 48)+"\n"), 100, false, 0, tlsdecrypt.StateNoKeys, true},
		{"hole in the client's records", keys, 100, true, 0, tlsdecrypt.StateDecryptError, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := ftpsSession(t, tt.keys)
			cli := client
			if tt.hole {
				// The ClientHello, then the client's second record lost.
				first := 5 + (int(cli[3])<<8 | int(cli[4]))
				second := 5 + (int(cli[first+3])<<8 | int(cli[first+4]))
				st.feed(Client, cli[:first], frameAt(9))
				st.gap(Client, second)
				cli = cli[first+second:]
			}
			last := feedTLS(st, cli, server, tt.piece)
			st.release()
			s := st.s
			if got := s.Commands - 1; got != tt.commands {
				t.Errorf("%d commands read after AUTH, want %d", got, tt.commands)
			}
			d := s.TLS.Decryption
			if d == nil || d.State != tt.state || d.KeyLog != tt.keyLog || d.VersionName() != "TLS 1.3" {
				t.Fatalf("decryption %+v, want state %v, key log %v, TLS 1.3", d, tt.state, tt.keyLog)
			}
			if (d.Problem == "") != (tt.state == tlsdecrypt.StateDecrypting) {
				t.Errorf("problem %q with state %v", d.Problem, d.State)
			}
			if s.ControlDecrypted() != (tt.state == tlsdecrypt.StateDecrypting) || s.ControlEncrypted() == s.ControlDecrypted() {
				t.Errorf("decrypted %v, encrypted %v with state %v", s.ControlDecrypted(), s.ControlEncrypted(), d.State)
			}
			if tt.commands == 0 {
				return
			}
			if len(s.Offers) != 1 || s.Offers[0].Endpoint != netip.MustParseAddrPort("10.0.0.1:30000") {
				t.Fatalf("offers %v, want the 227's 10.0.0.1:30000", s.Offers)
			}
			if len(s.Transfers) != 1 || s.Transfers[0].Status != StatusOK && s.Transfers[0].Final() == nil {
				t.Fatalf("transfers %+v, want RETR answered 226", s.Transfers)
			}
			if final := s.Transfers[0].Final(); final == nil || final.Code != 226 || final.Frame > last[Server] {
				t.Errorf("RETR's final reply %+v, want 226 at a frame of the server's records (last %d)", final, last[Server])
			}
			for _, e := range s.Log[3:] { // after the greeting, AUTH and 234
				if e.Frame < 10 {
					t.Errorf("decrypted line %+v points before the TLS records", e)
				}
			}
		})
	}
}

func mustKeyLog(t *testing.T, text string) *tlsdecrypt.KeyLog {
	t.Helper()
	k, err := tlsdecrypt.ParseKeyLog(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// FuzzDecryptedControl feeds hostile TLS records, cut anyhow, to an FTPS
// session that has the key log of a real exchange (the seed): it must
// never panic, never read more plaintext than was fed, and always say how
// far decryption went.
func FuzzDecryptedControl(f *testing.F) {
	client, server, keylog := ftpsTranscript(f)
	keys, err := tlsdecrypt.ParseKeyLog(bytes.NewReader(keylog))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(client, server, uint16(1<<15))
	f.Add(client, server, uint16(3))
	f.Add(client[:len(client)/2], server, uint16(100))
	f.Fuzz(func(t *testing.T, client, server []byte, piece uint16) {
		st := ftpsSession(t, keys)
		feedTLS(st, client, server, int(piece)+1)
		st.release()
		s := st.s
		d := s.TLS.Decryption
		if looksLikeTLS(client) && d == nil {
			t.Fatal("TLS records fed, but no decryption status")
		}
		if d != nil && (d.Plaintext[Client] > int64(len(client)) || d.Plaintext[Server] > int64(len(server))) {
			t.Fatalf("plaintext %v from %d and %d bytes", d.Plaintext, len(client), len(server))
		}
		if d != nil && d.Decrypted() && d.Problem != "" {
			t.Fatalf("decrypted, yet a problem: %q", d.Problem)
		}
		if len(s.Log) > maxLog {
			t.Fatalf("%d log entries, bound %d", len(s.Log), maxLog)
		}
	})
}
