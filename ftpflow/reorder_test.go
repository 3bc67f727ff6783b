package ftpflow

import (
	"strings"
	"testing"
	"time"

	"ftpdiag/internal/simtrace"
	"ftpdiag/pcap"
)

// TestOutOfOrderReply: a 227 delivered as one-byte segments out of order
// (every byte but the first, then the first) is held as TCP would hold it,
// however many segments that takes, and read whole: no gap, the offer
// parsed. Held bytes are bounded by bytes, not by a segment count.
func TestOutOfOrderReply(t *testing.T) {
	reply := "227 Entering Passive Mode (172,16,40,222,117,52). " + strings.Repeat("x", 60) + "\r\n"
	tests := []struct {
		name     string
		segments int // bytes sent one per segment out of order; the rest in one segment
		gaps     int
		offers   int
	}{
		{"one segment", 0, 0, 1},
		{"30 one-byte segments", 30, 0, 1},
		{"every byte one segment", len(reply), 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := simtrace.New()
			c := tr.Login(cliCtl, srvCtl)
			c.Say(simtrace.Client, "PASV\r\n")
			sendReversed(c, reply, tt.segments)
			c.Packet(simtrace.Client, "A", "")
			s := only(t, run(tr))
			if s.Gaps[Server] != tt.gaps || len(s.Offers) != tt.offers {
				t.Errorf("gaps %d offers %d, want %d %d", s.Gaps[Server], len(s.Offers), tt.gaps, tt.offers)
			}
		})
	}
}

// TestHeldAfterLastingHole: bytes held beyond a hole that never fills
// are handed on once the reassembler would give up on the hole: when the
// peer acknowledges past it, after a wait, or at the end of the capture.
func TestHeldAfterLastingHole(t *testing.T) {
	pasv := "227 Entering Passive Mode (203,0,113,5,19,137).\r\n"
	tests := []struct {
		name  string
		after func(tr *simtrace.Trace, c *simtrace.Conv)
	}{
		{"acknowledged", func(_ *simtrace.Trace, c *simtrace.Conv) { c.Packet(simtrace.Client, "A", "") }},
		{"a wait, then more", func(tr *simtrace.Trace, c *simtrace.Conv) {
			tr.Wait(10 * time.Second)
			c.Packet(simtrace.Server, "PA", "200 ok\r\n")
		}},
		{"end of capture", func(*simtrace.Trace, *simtrace.Conv) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := simtrace.New()
			c := tr.Login(cliCtl, srvCtl)
			playScript(c, []string{"C NOOP\r\n", "C PASV\r\n"})
			c.Seq[simtrace.Server] += uint32(len("200 NOOP ok\r\n")) // sent, not captured
			c.Packet(simtrace.Server, "PA", pasv)
			tt.after(tr, c)
			s := only(t, run(tr))
			if s.Gaps[Server] != 1 || len(s.Offers) != 1 {
				t.Errorf("gaps %d offers %d, want 1 1", s.Gaps[Server], len(s.Offers))
			}
		})
	}
}

// sendReversed has the server send text: its first n bytes (n > 1) as
// one-byte segments, the second to the n-th first and the first last,
// the rest in one segment after them.
func sendReversed(c *simtrace.Conv, text string, n int) {
	base := c.Seq[simtrace.Server]
	if n > 1 {
		for i := n - 1; i >= 1; i-- {
			c.Seq[simtrace.Server] = base + uint32(i)
			c.Packet(simtrace.Server, "A", text[i:i+1])
		}
		c.Seq[simtrace.Server] = base
		c.Packet(simtrace.Server, "PA", text[:1])
		c.Seq[simtrace.Server] = base + uint32(n)
		text = text[n:]
	}
	if text != "" {
		c.Packet(simtrace.Server, "PA", text)
	}
}

// TestHeldBytesBounded: out-of-order bytes beyond maxHeldBytes are not
// held (the reassembler gets them, and reports the hole it cannot fill),
// and nothing stays charged once the session is over.
func TestHeldBytesBounded(t *testing.T) {
	tr := simtrace.New()
	c := tr.Login(cliCtl, srvCtl)
	c.Say(simtrace.Client, "HELP\r\n")
	sendReversed(c, "214 "+strings.Repeat("h", 2000)+"\r\n", 1000)
	tk := NewTracker(Config{})
	d := pcap.NewDecoder()
	most := 0
	for _, p := range tr.Packets {
		tk.Packet(p, d.Decode(p))
		most = max(most, tk.bounds.heldBytes)
	}
	tk.Finish()
	if most > maxHeldBytes || most < maxHeldBytes-heldOverhead-1 || tk.bounds.heldBytes != 0 {
		t.Errorf("held at most %d bytes (bound %d), %d at the end", most, maxHeldBytes, tk.bounds.heldBytes)
	}
}
