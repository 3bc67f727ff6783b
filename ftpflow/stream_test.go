package ftpflow

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"ftpdiag/pcap"
)

func TestLineSplitter(t *testing.T) {
	long := strings.Repeat("x", maxLineLen)
	tests := []struct {
		name   string
		pieces []string
		lines  []string
		cuts   int
	}{
		{"CRLF", []string{"USER anonymous\r\n"}, []string{"USER anonymous"}, 0},
		{"bare LF", []string{"SYST\n"}, []string{"SYST"}, 0},
		{"two lines in one piece", []string{"PASV\r\nLIST\r\n"}, []string{"PASV", "LIST"}, 0},
		{"empty lines", []string{"\r\n\n"}, []string{"", ""}, 0},
		{"CR inside a line is kept", []string{"a\rb\r\n"}, []string{"a\rb"}, 0},
		{"only the last CR is dropped", []string{"a\r\r\n"}, []string{"a\r"}, 0},
		{"CR and LF in different pieces", []string{"220 ready\r", "\n"}, []string{"220 ready"}, 0},
		{"line across three pieces", []string{"227 Entering", " Passive Mode ", "(192,0,2,1,4,1)\r\n"}, []string{"227 Entering Passive Mode (192,0,2,1,4,1)"}, 0},
		{"no line end yet", []string{"RETR fi"}, nil, 0},
		{"maxLineLen bytes with the CR", []string{long[1:] + "\r\n"}, []string{long[1:]}, 0},
		{"maxLineLen bytes and a bare LF", []string{long + "\n"}, []string{long}, 0},
		{"the CR counts in the cap", []string{long + "\r\n"}, []string{long}, 1},
		{"over: cut, counted once", []string{long + "yz\r\n"}, []string{long}, 1},
		{"long line over many pieces: counted once", []string{long, "abc", "def\r\n", "next\r\n"}, []string{long, "next"}, 1},
		{"two long lines", []string{long + "a\n" + long + "b\n"}, []string{long, long}, 2},
		{"the CR past the cap, LF in the next piece", []string{long + "\r", "\n"}, []string{long}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ls lineSplitter
			var lines []string
			cuts := 0
			for _, p := range tt.pieces {
				for data := []byte(p); len(data) > 0; {
					n, line, ended, cut := ls.split(data)
					if n <= 0 || n > len(data) {
						t.Fatalf("split(%q) used %d bytes", data, n)
					}
					data = data[n:]
					if cut {
						cuts++
					}
					if ended {
						lines = append(lines, string(line))
					}
				}
			}
			if !slices.Equal(lines, tt.lines) || cuts != tt.cuts {
				t.Errorf("pieces %s: lines %s, %d cut; want %s, %d cut", clipAll(tt.pieces), clipAll(lines), cuts, clipAll(tt.lines), tt.cuts)
			}
		})
	}
}

// clipAll shows lines for a test log, each clipped.
func clipAll(lines []string) string {
	q := make([]string, len(lines))
	for i, l := range lines {
		q[i] = fmt.Sprintf("%q (%d bytes)", clipForLog(l), len(l))
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// TestTLSRecordRule: the content types that turn a direction to TLS are
// exactly those the skipper takes for a record (heartbeat, 24, included),
// so that a record neither side would see is not taken for clear text.
func TestTLSRecordRule(t *testing.T) {
	for b := 0; b < 256; b++ {
		starts := looksLikeTLS([]byte{byte(b), 3, 3, 0, 0})
		k := tlsSkipper{on: true}
		_, clear := k.skip([]byte{byte(b), 3, 3, 0, 0})
		if starts == clear {
			t.Errorf("content type %d: looksLikeTLS %v, skipper ends TLS %v", b, starts, clear)
		}
	}
	heartbeat := []byte{24, 3, 3, 0, 2, 1, 0} // RFC 6520 record, 2 bytes
	if !looksLikeTLS(heartbeat) {
		t.Error("a heartbeat record does not look like TLS")
	}
	k := tlsSkipper{on: true}
	if used, clear := k.skip(append(heartbeat, "220 ok\r\n"...)); !clear || used != len(heartbeat) || k.on {
		t.Errorf("heartbeat then clear text: used %d of %d, clear %v, on %v", used, len(heartbeat), clear, k.on)
	}
}

// controlStreams returns the bytes of the first control connection (port
// 21) of a capture, per side, in sequence order, retransmissions removed.
func controlStreams(t *testing.T, path string) (client, server netip.AddrPort, streams [2][]byte) {
	t.Helper()
	r, err := pcap.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := pcap.NewDecoder()
	var next [2]uint32
	var started [2]bool
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		d := dec.Decode(p)
		if d.Kind != pcap.KindTCP {
			continue
		}
		src := netip.AddrPortFrom(d.Src, d.TCP.SrcPort)
		dst := netip.AddrPortFrom(d.Dst, d.TCP.DstPort)
		side := Client
		switch {
		case !client.IsValid() && dst.Port() == controlPort:
			client, server = src, dst
		case src == client && dst == server:
		case src == server && dst == client:
			side = Server
		default:
			continue
		}
		seq := d.TCP.Seq
		if d.TCP.SYN {
			seq++
		}
		if !started[side] {
			next[side], started[side] = seq, true
		}
		payload := d.TCP.Payload
		if len(payload) > 0 && int32(seq-next[side]) > 0 {
			t.Fatalf("%s: frame %d: a hole in the control stream", path, p.Frame)
		}
		if skip := int(next[side] - seq); skip < len(payload) {
			streams[side] = append(streams[side], payload[skip:]...)
			next[side] += uint32(len(payload) - skip)
		}
	}
	if len(streams[Client]) == 0 || len(streams[Server]) == 0 {
		t.Fatalf("%s: no control dialogue on port 21", path)
	}
	return client, server, streams
}

// dialogue delivers a control connection's two streams to a fresh session,
// each cut into the given pieces (offsets where a piece starts, after 0),
// the client's first, and returns what the session made of them. Events
// number the bytes of each stream from 1, so that every line's start is
// checked too.
func dialogue(client, server netip.AddrPort, streams [2][]byte, cuts [2][]int) string {
	st := newSession(NewTracker(Config{KeepLog: true}), &Conn{Client: client, Server: server}, "port")
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for side := Client; side <= Server; side++ {
		data := streams[side]
		bounds := append(append([]int{0}, cuts[side]...), len(data))
		for i := 0; i+1 < len(bounds); i++ {
			base := bounds[i]
			st.feed(side, data[base:bounds[i+1]], func(off int) Event {
				return Event{Frame: base + off + 1, Time: at}
			})
		}
	}
	st.release() // as when the connection closes: completes a pending OOPS
	s := st.s
	var b strings.Builder
	for _, e := range s.Log {
		fmt.Fprintf(&b, "%s@%d %s %q %d %q\n", e.From, e.Frame, e.Verb, e.Arg, e.Code, e.Text)
	}
	fmt.Fprintf(&b, "commands %d replies %d bad %d long %d offers %d\n", s.Commands, s.Replies, s.BadLines, s.LongLines, len(s.Offers))
	if s.TLS != nil {
		tls := *s.TLS
		tls.Decryption = nil // a pointer: its content is printed on its own
		fmt.Fprintf(&b, "TLS %+v\n", tls)
		if d := s.TLS.Decryption; d != nil {
			fmt.Fprintf(&b, "decryption %+v\n", *d)
		}
	}
	return b.String()
}

// TestSplitDelivery: a real control dialogue cut in two at every byte
// offset, and in one-byte pieces, gives the same commands, replies and
// line starts as delivered whole.
func TestSplitDelivery(t *testing.T) {
	for _, name := range []string{
		"01-passive-proftpd-lftp-client.pcap",         // a multi-line 211 reply to FEAT
		"05-masq-port-promiscuous-port20-client.pcap", // vsftpd's 500 OOPS over several lines
		"07-tls-vsftpd-lftp-client.pcap",              // TLS records after AUTH TLS
	} {
		t.Run(name, func(t *testing.T) {
			client, server, streams := controlStreams(t, "../fixtures/captures/"+name)
			whole := dialogue(client, server, streams, [2][]int{})
			if !strings.Contains(whole, "client@1 USER") && !strings.Contains(whole, "client@1 AUTH") && !strings.Contains(whole, "client@1 FEAT") {
				t.Fatalf("the dialogue does not start with a command:\n%s", whole)
			}
			for side := Client; side <= Server; side++ {
				var cuts [2][]int
				for k := 1; k < len(streams[side]); k++ {
					cuts[side] = []int{k}
					if got := dialogue(client, server, streams, cuts); got != whole {
						t.Fatalf("%s stream cut at byte %d:\n%s\nwant\n%s", side, k, got, whole)
					}
				}
				cuts[side] = make([]int, 0, len(streams[side]))
				for k := 1; k < len(streams[side]); k++ {
					cuts[side] = append(cuts[side], k)
				}
				if got := dialogue(client, server, streams, cuts); got != whole {
					t.Fatalf("%s stream in one-byte pieces:\n%s\nwant\n%s", side, got, whole)
				}
			}
		})
	}
}
