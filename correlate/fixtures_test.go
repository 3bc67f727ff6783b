package correlate

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"ftpdiag/analyze"
)

const captures = "../fixtures/captures/"

// pair correlates a scenario's client-side capture (A) with its
// server-side capture (B).
func pair(t *testing.T, scenario string) (*Result, Pair) {
	t.Helper()
	base := captures + scenario
	r, err := Correlate(context.Background(), analyze.Files(base+"-client.pcap", base+"-server.pcap"))
	if err != nil {
		t.Fatalf("Correlate(%s): %v", scenario, err)
	}
	if len(r.Pairs) != 1 {
		t.Fatalf("Correlate(%s): %d pairs, want 1", scenario, len(r.Pairs))
	}
	return r, r.Pairs[0]
}

// lossLine is a Loss as the table below spells it: kind, the file that saw
// the packets (client or server), how many, the direction as that file
// shows it.
func lossLine(l Loss) string {
	seen := "client"
	if l.Seen == 1 {
		seen = "server"
	}
	return fmt.Sprintf("%s seen=%s n=%d %s>%s", l.Kind, seen, l.Packets, l.Src, l.Dst)
}

// TestFixturePairs checks, on every pair of captures taken at the same
// time at the client and at the server (fixtures/README.md says what truly
// happened in each), the translation of every connection, the clock
// offset (both files come from one machine's clock: zero), which side each
// host is on, the packets that vanished or appeared between the two
// capture points, and the payload rewritten on the way.
func TestFixturePairs(t *testing.T) {
	tests := []struct {
		scenario string
		// conns lists every connection seen in both files, as
		// ConnMatch.String spells it, in the client file's order.
		conns []string
		// losses lists the Losses of all matched connections, then of the
		// lone ones, as lossLine spells them.
		losses []string
		// rewrites lists the rewritten payloads, "client text => server
		// text".
		rewrites []string
		// unanswered lists the matched connections whose SYNs reached
		// both points without an answer.
		unanswered []int
		// sideA and sideB are the hosts on each side.
		sideA, sideB string
	}{
		{
			// The 227 names 172.16.40.222; the client's 3 SYNs to it never
			// reach the server's network.
			scenario: "02-nat-pasv-curl-follow",
			conns:    []string{"198.51.100.10:60572 > 203.0.113.10:21 is 198.51.100.10:60572 > 172.16.40.222:21 (destination NAT)"},
			losses:   []string{"syn_lost seen=client n=3 198.51.100.10:34206>172.16.40.222:30004"},
			sideA:    "198.51.100.10", sideB: "172.16.40.222",
		},
		{
			// The router's FTP helper rewrites the 227 (one byte shorter,
			// sequence numbers shifted); the data connection is forwarded.
			scenario: "02-nat-pasv-helper-curl-follow",
			conns: []string{
				"198.51.100.10:43322 > 203.0.113.10:21 is 198.51.100.10:43322 > 172.16.40.222:21 (destination NAT)",
				"198.51.100.10:58122 > 203.0.113.10:30006 is 198.51.100.10:58122 > 172.16.40.222:30006 (destination NAT)",
			},
			rewrites: []string{"227 Entering Passive Mode (203,0,113,10,117,54).\r\n => 227 Entering Passive Mode (172,16,40,222,117,54).\r\n"},
			sideA:    "198.51.100.10", sideB: "172.16.40.222",
		},
		{
			// A firewall drops the passive port: 3 SYNs lost on the way.
			scenario: "03-pasv-dropped-curl",
			conns:    []string{"198.51.100.10:53150 > 203.0.113.10:21 is 198.51.100.10:53150 > 203.0.113.10:21 (none NAT)"},
			losses:   []string{"syn_lost seen=client n=3 198.51.100.10:59762>203.0.113.10:30000"},
			sideA:    "198.51.100.10", sideB: "203.0.113.10",
		},
		{
			// The server's active SYNs reach the client's interface (and its
			// own firewall drops them there): nothing lost on the way.
			scenario: "04-active-client-firewall-curl",
			conns: []string{
				"198.51.100.10:53168 > 203.0.113.10:21 is 198.51.100.10:53168 > 203.0.113.10:21 (none NAT)",
				"203.0.113.10:20 > 198.51.100.10:36727 is 203.0.113.10:20 > 198.51.100.10:36727 (none NAT)",
			},
			unanswered: []int{1},
			sideA:      "198.51.100.10", sideB: "203.0.113.10",
		},
		{
			// MASQUERADE with the FTP helper: PORT rewritten (one byte
			// longer), the server's data connection forwarded to the LAN.
			scenario: "05-masq-helper-port21",
			conns: []string{
				"192.168.1.10:56618 > 203.0.113.10:21 is 198.51.100.10:56618 > 203.0.113.10:21 (source NAT)",
				"203.0.113.10:20 > 192.168.1.10:39595 is 203.0.113.10:20 > 198.51.100.10:39595 (destination NAT)",
			},
			rewrites: []string{"PORT 192,168,1,10,154,171\r\n => PORT 198,51,100,10,154,171\r\n"},
			sideA:    "192.168.1.10", sideB: "203.0.113.10",
		},
		{
			// The helper does not watch port 2121: PORT passes unchanged.
			scenario: "05-masq-helper-port2121",
			conns:    []string{"192.168.1.10:39902 > 203.0.113.10:2121 is 198.51.100.10:39902 > 203.0.113.10:2121 (source NAT)"},
			sideA:    "192.168.1.10", sideB: "203.0.113.10",
		},
		{
			scenario: "05-masq-port-lan-address",
			conns:    []string{"192.168.1.10:55126 > 203.0.113.10:21 is 198.51.100.10:55126 > 203.0.113.10:21 (source NAT)"},
			sideA:    "192.168.1.10", sideB: "203.0.113.10",
		},
		{
			// The server's SYNs to the LAN address die in the router.
			scenario: "05-masq-port-promiscuous",
			conns:    []string{"192.168.1.10:55134 > 203.0.113.10:21 is 198.51.100.10:55134 > 203.0.113.10:21 (source NAT)"},
			losses:   []string{"syn_lost seen=server n=3 203.0.113.10:34711>192.168.1.10:41845"},
			sideA:    "192.168.1.10", sideB: "203.0.113.10",
		},
		{
			// The router forges RSTs in the client's name once 40000 bytes
			// passed, and drops the rest: 8688 bytes and the server's own
			// RSTs never reach the client.
			scenario: "10-middlebox-reset",
			conns: []string{
				"198.51.100.10:37594 > 203.0.113.10:21 is 198.51.100.10:37594 > 203.0.113.10:21 (none NAT)",
				"198.51.100.10:53208 > 203.0.113.10:30007 is 198.51.100.10:53208 > 203.0.113.10:30007 (none NAT)",
			},
			losses: []string{
				"data_lost seen=server n=6 203.0.113.10:30007>198.51.100.10:53208",
				"forged_rst seen=server n=6 198.51.100.10:53208>203.0.113.10:30007",
				"rst_lost seen=server n=3 203.0.113.10:30007>198.51.100.10:53208",
			},
			sideA: "198.51.100.10", sideB: "203.0.113.10",
		},
		{
			scenario: "10-server-killed-vsftpd",
			conns: []string{
				"198.51.100.10:37610 > 203.0.113.10:21 is 198.51.100.10:37610 > 203.0.113.10:21 (none NAT)",
				"198.51.100.10:48228 > 203.0.113.10:30003 is 198.51.100.10:48228 > 203.0.113.10:30003 (none NAT)",
			},
			sideA: "198.51.100.10", sideB: "203.0.113.10",
		},
		{
			// 11 full-size segments and 5 retransmissions vanish; the
			// handshake and the LIST's small segments pass.
			scenario: "11-mtu-blackhole",
			conns: []string{
				"198.51.100.10:54538 > 203.0.113.10:21 is 198.51.100.10:54538 > 203.0.113.10:21 (none NAT)",
				"198.51.100.10:53500 > 203.0.113.10:30000 is 198.51.100.10:53500 > 203.0.113.10:30000 (none NAT)",
				"198.51.100.10:54554 > 203.0.113.10:21 is 198.51.100.10:54554 > 203.0.113.10:21 (none NAT)",
				"198.51.100.10:50006 > 203.0.113.10:30009 is 198.51.100.10:50006 > 203.0.113.10:30009 (none NAT)",
			},
			losses: []string{"full_size_lost seen=server n=16 203.0.113.10:30009>198.51.100.10:50006"},
			sideA:  "198.51.100.10", sideB: "203.0.113.10",
		},
		{
			// No SYN ever leaves for the second transfer: one data
			// connection, identical in both files.
			scenario: "13-timewait-reuse-ts-off",
			conns: []string{
				"198.51.100.10:50754 > 203.0.113.10:21 is 198.51.100.10:50754 > 203.0.113.10:21 (none NAT)",
				"203.0.113.10:20 > 198.51.100.10:40000 is 203.0.113.10:20 > 198.51.100.10:40000 (none NAT)",
			},
			sideA: "198.51.100.10", sideB: "203.0.113.10",
		},
		{
			// The 5-tuple carries two connections, told apart by their
			// initial sequence numbers.
			scenario: "13-timewait-reuse-ts-on",
			conns: []string{
				"198.51.100.10:50740 > 203.0.113.10:21 is 198.51.100.10:50740 > 203.0.113.10:21 (none NAT)",
				"203.0.113.10:20 > 198.51.100.10:40000 is 203.0.113.10:20 > 198.51.100.10:40000 (none NAT)",
				"203.0.113.10:20 > 198.51.100.10:40000 is 203.0.113.10:20 > 198.51.100.10:40000 (none NAT)",
			},
			sideA: "198.51.100.10", sideB: "203.0.113.10",
		},
		{
			// TLS blinds the helper: the router itself refuses the data SYN.
			scenario: "07-tls-nat-helper-blind-curl",
			conns:    []string{"198.51.100.10:54034 > 203.0.113.10:21 is 198.51.100.10:54034 > 172.16.40.222:21 (destination NAT)"},
			losses: []string{
				"syn_lost seen=client n=1 198.51.100.10:52674>203.0.113.10:30001",
				"answered_between seen=client n=1 203.0.113.10:30001>198.51.100.10:52674",
			},
			sideA: "198.51.100.10", sideB: "172.16.40.222",
		},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			r, p := pair(t, tt.scenario)
			if r.Mode != Views || !p.Views {
				t.Errorf("Mode = %v, Views = %v; want views", r.Mode, p.Views)
			}
			// One clock: the offset is within the timestamps' precision;
			// the client's capture point is upstream of the server's.
			if p.Offset < -20*time.Microsecond || p.Offset > 20*time.Microsecond {
				t.Errorf("Offset = %v; want 0 (one machine's clock)", p.Offset)
			}
			if !p.DelayKnown || p.Delay <= 0 || p.Delay > time.Millisecond {
				t.Errorf("Delay = %v (known %v); want a few microseconds from client to server", p.Delay, p.DelayKnown)
			}
			if got := fmt.Sprint(p.SideA); got != "["+tt.sideA+"]" {
				t.Errorf("SideA = %s; want [%s]", got, tt.sideA)
			}
			if got := fmt.Sprint(p.SideB); got != "["+tt.sideB+"]" {
				t.Errorf("SideB = %s; want [%s]", got, tt.sideB)
			}
			var conns, losses, rewrites []string
			var unanswered []int
			for i, c := range p.Conns {
				conns = append(conns, c.String())
				for _, l := range c.Losses {
					losses = append(losses, lossLine(l))
				}
				for _, w := range c.Rewrites {
					rewrites = append(rewrites, w.TextA+" => "+w.TextB)
				}
				if c.Unanswered {
					unanswered = append(unanswered, i)
				}
			}
			for _, l := range p.Lone {
				for _, x := range l.Losses {
					losses = append(losses, lossLine(x))
				}
			}
			check(t, "connections", conns, tt.conns)
			check(t, "losses", losses, tt.losses)
			check(t, "rewrites", rewrites, tt.rewrites)
			if fmt.Sprint(unanswered) != fmt.Sprint(tt.unanswered) && len(unanswered)+len(tt.unanswered) > 0 {
				t.Errorf("unanswered = %v; want %v", unanswered, tt.unanswered)
			}
		})
	}
}

func check(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestRewriteDetails checks what a rewrite and an MTU loss carry beyond
// their kind: frames in both files, the sequence shift the helper leaves
// behind, the sizes that passed and were lost.
func TestRewriteDetails(t *testing.T) {
	_, p := pair(t, "05-masq-helper-port21")
	w := p.Conns[0].Rewrites[0]
	if w.FrameA != 13 || w.FrameB != 15 || w.LenA != 27 || w.LenB != 28 || w.SeqShift != 1 {
		t.Errorf("PORT rewrite = frames %d/%d, lengths %d/%d, shift %d; want 13/15, 27/28, 1", w.FrameA, w.FrameB, w.LenA, w.LenB, w.SeqShift)
	}
	_, p = pair(t, "11-mtu-blackhole")
	l := p.Conns[3].Losses[0]
	if l.SmallestLost != 1448 || l.LargestPassed != 0 || l.Frames[0] != 55 || l.Frames[10] != 65 || l.Bytes != 16*1448 {
		t.Errorf("MTU loss = smallest %d, largest passed %d, frames %v, bytes %d; want 1448, 0, 55..65 first, %d", l.SmallestLost, l.LargestPassed, l.Frames, l.Bytes, 16*1448)
	}
}

// TestClockOffset shifts the server's capture clock by a known amount and
// checks that the estimated offset finds it, to the microsecond precision
// of the files.
func TestClockOffset(t *testing.T) {
	for _, shift := range []time.Duration{97*time.Minute + 3*time.Second + 250*time.Microsecond, -41 * time.Second} {
		t.Run(shift.String(), func(t *testing.T) {
			base := captures + "02-nat-pasv-helper-curl-follow"
			srv, err := os.ReadFile(base + "-server.pcap")
			if err != nil {
				t.Fatal(err)
			}
			shifted := shiftPcap(t, srv, shift)
			r, err := Correlate(context.Background(), []analyze.Input{{Name: base + "-client.pcap"}, {Name: "shifted", Reader: bytes.NewReader(shifted)}})
			if err != nil {
				t.Fatal(err)
			}
			p := r.Pairs[0]
			if d := p.Offset - shift; d < -20*time.Microsecond || d > 20*time.Microsecond {
				t.Errorf("Offset = %v; want %v", p.Offset, shift)
			}
			if len(p.Conns) != 2 || len(p.Lone) != 0 || len(p.Conns[0].Losses)+len(p.Conns[1].Losses) != 0 {
				t.Errorf("shifted clock: %d conns, %d lone, losses %v %v; want 2, 0, none", len(p.Conns), len(p.Lone), p.Conns[0].Losses, p.Conns[1].Losses)
			}
		})
	}
}

// shiftPcap adds d to every record's timestamp of a little-endian,
// microsecond classic pcap file.
func shiftPcap(t *testing.T, b []byte, d time.Duration) []byte {
	t.Helper()
	if binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatal("not a little-endian microsecond pcap")
	}
	out := bytes.Clone(b)
	for off := 24; off+16 <= len(out); {
		sec := binary.LittleEndian.Uint32(out[off:])
		usec := binary.LittleEndian.Uint32(out[off+4:])
		ts := time.Unix(int64(sec), int64(usec)*1000).Add(d)
		binary.LittleEndian.PutUint32(out[off:], uint32(ts.Unix()))
		binary.LittleEndian.PutUint32(out[off+4:], uint32(ts.Nanosecond()/1000))
		off += 16 + int(binary.LittleEndian.Uint32(out[off+8:]))
	}
	return out
}

// TestUnrelatedShareNothing: captures of different sessions share no
// packet, so they are merged as one capture, as ring-buffer pieces are.
func TestUnrelatedShareNothing(t *testing.T) {
	tests := []struct{ a, b string }{
		{"01-passive-vsftpd-curl-client", "03-pasv-dropped-curl-server"},
		{"02-nat-pasv-curl-follow-client", "02-nat-pasv-curl-skip-client"}, // same server and 227, other runs
		{"13-timewait-reuse-ts-on-client", "13-timewait-reuse-ts-off-server"},
		{"12-synthetic-pasv-in-use-425", "13-synthetic-windows-timewait-425"},
	}
	for _, tt := range tests {
		t.Run(tt.a+"+"+tt.b, func(t *testing.T) {
			r, err := Correlate(context.Background(), analyze.Files(captures+tt.a+".pcap", captures+tt.b+".pcap"))
			if err != nil {
				t.Fatal(err)
			}
			p := r.Pairs[0]
			if r.Mode != Separate || p.Views || p.MatchedPackets != 0 || len(p.Conns) != 0 || len(p.Lone) != 0 {
				t.Errorf("Mode %v, views %v, %d packets and %d connections matched, %d lone; want separate and nothing shared",
					r.Mode, p.Views, p.MatchedPackets, len(p.Conns), len(p.Lone))
			}
		})
	}
}

// TestOneFileAndMissing: one input gives no pair; an input that cannot be
// opened is named in the error and left out.
func TestOneFileAndMissing(t *testing.T) {
	r, err := Correlate(context.Background(), analyze.Files(captures+"03-pasv-dropped-curl-client.pcap", "no-such.pcap"))
	if err == nil || !strings.Contains(err.Error(), "no-such.pcap") {
		t.Errorf("error = %v; want one naming no-such.pcap", err)
	}
	if r.Mode != Separate || len(r.Pairs) != 0 || r.Files[0].Conns != 2 || r.Files[1].Err == nil {
		t.Errorf("Mode %v, %d pairs, files %+v; want separate, no pair, the first file read", r.Mode, len(r.Pairs), r.Files)
	}
}
