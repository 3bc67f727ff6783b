package extract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
)

func TestMaskPass(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		continued bool
		want      string
		still     bool
	}{
		{"whole line", "PASS sunshine\r\n", false, "PASS ********\r\n", false},
		{"lower case, among others", "USER a\r\npass x y\r\nPWD\r\n", false, "USER a\r\npass ***\r\nPWD\r\n", false},
		{"cut in the argument", "PASS sun", false, "PASS ***", true},
		{"the rest of a cut line", "shine\r\nPWD\r\n", true, "*****\r\nPWD\r\n", false},
		{"a cut line goes on", "shine", true, "*****", true},
		{"no PASS", "RETR PASS x\r\n", false, "RETR PASS x\r\n", false},
		{"PASS without argument", "PASS \r\n", false, "PASS \r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.in)
			still := maskPass(b, tt.continued)
			if string(b) != tt.want || still != tt.still {
				t.Errorf("maskPass(%q, %v) = %q, %v; want %q, %v", tt.in, tt.continued, b, still, tt.want, tt.still)
			}
		})
	}
}

// TestAdjustChecksum: the incremental update equals a checksum computed
// afresh, at even and odd offsets.
func TestAdjustChecksum(t *testing.T) {
	data := []byte("\x12\x34USER a\r\nPASS sunshine\r\nxyz")
	full := func(b []byte) uint16 { return ^fold(onesSum(b, false)) }
	for _, start := range []int{13, 14, 15} {
		b := bytes.Clone(data)
		before := full(b)
		old := bytes.Clone(b[start : start+5])
		copy(b[start:], "*****")
		got := adjustChecksum(before, old, b[start:start+5], start%2 == 1)
		if want := full(b); got != want {
			t.Errorf("change at offset %d: adjusted %#04x, computed afresh %#04x", start, got, want)
		}
	}
}

// TestWriteMasksAndComments: on a real capture of a failing session, the
// evidence capture holds the session's packets with the PASS argument
// masked, valid TCP checksums where the input had them, and a comment on
// every packet naming its original frame.
func TestWriteMasksAndComments(t *testing.T) {
	const path = "../fixtures/captures/09-data-closed-fake-226-client.pcap"
	a, err := analyze.Run(context.Background(), analyze.Files(path), analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	targets := Failing(a.Findings, Targets(a.Sessions))
	if len(targets) != 1 {
		t.Fatalf("%d failing sessions, want 1", len(targets))
	}
	valid := map[bool]bool{}
	for _, show := range []bool{false, true} {
		var out bytes.Buffer
		create := func(Target) (io.Writer, error) { return &out, nil }
		files, err := WriteTargets(context.Background(), analyze.Files(path), targets, create, Options{ShowPasswords: show})
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 1 || files[0].Packets == 0 {
			t.Fatalf("wrote %+v", files)
		}
		valid[show] = checkEvidence(t, out.Bytes(), files[0].Packets, show)
	}
	if valid[false] != valid[true] {
		t.Errorf("TCP checksum of the PASS segment valid %v when masked, %v as captured", valid[false], valid[true])
	}
}

// checkEvidence reads an evidence capture back and reports whether the
// TCP checksum of its PASS segment is valid.
func checkEvidence(t *testing.T, capture []byte, packets int, showPasswords bool) (checksumValid bool) {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(capture), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	n, sawPass := 0, false
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if len(ci.AncillaryData) == 0 && !strings.Contains(string(capture), "ftpdiag: frame ") {
			t.Fatal("no frame comments")
		}
		p := gopacket.NewPacket(data, layers.LinkTypeEthernet, gopacket.Default)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil || !bytes.HasPrefix(tcp.Payload, []byte("PASS ")) {
			continue
		}
		sawPass = true
		arg := strings.TrimSuffix(strings.TrimPrefix(string(tcp.Payload), "PASS "), "\r\n")
		masked := strings.Trim(arg, "*") == ""
		if arg == "" || masked == showPasswords {
			t.Errorf("ShowPasswords %v: PASS line %q", showPasswords, tcp.Payload)
		}
		ip := p.NetworkLayer().(gopacket.SerializableLayer)
		if err := tcp.SetNetworkLayerForChecksum(ip.(gopacket.NetworkLayer)); err != nil {
			t.Fatal(err)
		}
		err, res := tcp.VerifyChecksum()
		if err != nil {
			t.Fatal(err)
		}
		checksumValid = res.Valid
	}
	if n != packets || !sawPass {
		t.Errorf("read %d packets (want %d), PASS seen %v", n, packets, sawPass)
	}
	if got := strings.Count(string(capture), "ftpdiag: frame "); got != packets {
		t.Errorf("%d frame comments for %d packets", got, packets)
	}
	return checksumValid
}

// TestExhaustionHoldersOneAtATime: for a session refused for want of
// passive ports, the sessions holding the ports are extracted too; the
// captures are written one after the other, each closed before the next
// is opened.
func TestExhaustionHoldersOneAtATime(t *testing.T) {
	const path = "../fixtures/captures/12-synthetic-pasv-in-use-425.pcap"
	a, err := analyze.Run(context.Background(), analyze.Files(path), analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	targets := Failing(a.Findings, Targets(a.Sessions))
	var ids []int
	for _, tg := range targets {
		ids = append(ids, tg.Session)
	}
	if len(ids) != 3 {
		t.Fatalf("extracting sessions %v, want the refused one and the two holding the ports", ids)
	}
	open, most := 0, 0
	create := func(Target) (io.Writer, error) {
		open++
		most = max(most, open)
		return &closeCounter{open: &open}, nil
	}
	files, err := WriteTargets(context.Background(), analyze.Files(path), targets, create, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || most != 1 || open != 0 {
		t.Errorf("wrote %d files, at most %d open at once, %d left open", len(files), most, open)
	}
}

// closeCounter counts the writers not yet closed.
type closeCounter struct {
	bytes.Buffer
	open *int
}

func (c *closeCounter) Close() error {
	*c.open--
	return nil
}

// TestWriteSessions: Write, for a caller holding whole sessions, writes
// what WriteTargets writes for their targets.
func TestWriteSessions(t *testing.T) {
	const path = "../fixtures/captures/09-data-closed-fake-226-client.pcap"
	a, err := analyze.Run(context.Background(), analyze.Files(path), analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var bySession, byTarget bytes.Buffer
	if _, err := Write(context.Background(), analyze.Files(path), a.Sessions, func(*ftpflow.Session) (io.Writer, error) { return &bySession, nil }, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteTargets(context.Background(), analyze.Files(path), Targets(a.Sessions), func(Target) (io.Writer, error) { return &byTarget, nil }, Options{}); err != nil {
		t.Fatal(err)
	}
	if bySession.Len() == 0 || !bytes.Equal(bySession.Bytes(), byTarget.Bytes()) {
		t.Errorf("Write gave %d bytes, WriteTargets %d", bySession.Len(), byTarget.Len())
	}
}

// TestWriteErrorIsReported: a writer that fails (a full disk) gives an
// error naming the session, and the capture is not listed as written.
func TestWriteErrorIsReported(t *testing.T) {
	const path = "../fixtures/captures/12-synthetic-pasv-in-use-425.pcap"
	a, err := analyze.Run(context.Background(), analyze.Files(path), analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	targets := Failing(a.Findings, Targets(a.Sessions))
	calls := 0
	create := func(Target) (io.Writer, error) {
		calls++
		if calls == 2 {
			return fullDisk{}, nil
		}
		return io.Discard, nil
	}
	files, err := WriteTargets(context.Background(), analyze.Files(path), targets, create, Options{})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("session %d", targets[1].Session)) {
		t.Fatalf("error %v, want one naming session %d", err, targets[1].Session)
	}
	if len(files) != 1 || files[0].Session != targets[0].Session {
		t.Errorf("listed as written: %+v, want only session %d", files, targets[0].Session)
	}
}

type fullDisk struct{}

func (fullDisk) Write([]byte) (int, error) { return 0, syscall.ENOSPC }
