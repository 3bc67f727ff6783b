package analyze_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"ftpdiag/analyze"
	"ftpdiag/internal/simtrace"
	"ftpdiag/report"
)

// seedTraces are small captures covering the pipeline's paths: a passive
// transfer, an active one that fails, TLS, and a malformed dialogue.
func seedTraces() []*simtrace.Trace {
	var out []*simtrace.Trace

	tr := simtrace.New()
	c := tr.Login("198.51.100.10:40000", "203.0.113.5:21")
	c.Say(simtrace.Client, "PASV\r\n")
	c.Say(simtrace.Server, "227 Entering Passive Mode (10,0,0,5,195,80).\r\n")
	c.Say(simtrace.Client, "RETR f\r\n")
	d := tr.Conv("198.51.100.10:41000", "203.0.113.5:50000").Open()
	c.Say(simtrace.Server, "150 Opening BINARY mode data connection for f (5 bytes).\r\n")
	d.Say(simtrace.Server, "hello")
	d.Close(simtrace.Server)
	c.Say(simtrace.Server, "226 Transfer complete.\r\n")
	out = append(out, tr)

	tr = simtrace.New()
	c = tr.Login("198.51.100.10:40000", "203.0.113.5:2121")
	c.Say(simtrace.Client, "EPRT |1|192.168.1.2|6000|\r\n")
	c.Say(simtrace.Server, "200 EPRT command successful.\r\n")
	c.Say(simtrace.Client, "STOR x\r\n")
	d = tr.Conv("203.0.113.5:20", "192.168.1.2:6000")
	d.Packet(simtrace.Client, "S", "")
	tr.Wait(3 * time.Second)
	c.Say(simtrace.Server, "425 Failed to establish connection.\r\n")
	out = append(out, tr)

	tr = simtrace.New()
	c = tr.Conv("198.51.100.10:40000", "203.0.113.5:21").Open()
	c.Say(simtrace.Server, "220-hi\r\n220 there\r\n")
	c.Say(simtrace.Client, "AUTH TLS\r\n")
	c.Say(simtrace.Server, "234 ok\r\n")
	c.Say(simtrace.Client, "\x16\x03\x01\x00\x02hi\x15\x03\x03\x00\x00PASV\r\n")
	c.Say(simtrace.Server, "\x00\x01\xffgarbage\r\n227 (1,2,3\r\n")
	c.Packet(simtrace.Client, "RA", "")
	out = append(out, tr)

	// Sessions to one server that end and are handed on while the capture
	// goes on: a port held idle while another session is refused one, then,
	// after a quiet spell, a port announced far outside the others.
	tr = simtrace.New()
	a := tr.Login("198.51.100.10:40000", "203.0.113.5:21")
	a.Say(simtrace.Client, "PASV\r\n")
	a.Say(simtrace.Server, "227 Entering Passive Mode (203,0,113,5,195,80).\r\n")
	b := tr.Login("198.51.100.11:40000", "203.0.113.5:21")
	b.Say(simtrace.Client, "PASV\r\n")
	b.Say(simtrace.Server, "425 Try later, data connection in use.\r\n")
	b.Say(simtrace.Client, "QUIT\r\n")
	b.Close(simtrace.Server)
	a.Say(simtrace.Client, "QUIT\r\n")
	a.Close(simtrace.Server)
	other := tr.Conv("198.51.100.20:50000", "192.0.2.80:443").Open()
	for range 15 {
		tr.Wait(time.Second)
		other.Say(simtrace.Client, "x")
	}
	c = tr.Login("198.51.100.12:40000", "203.0.113.5:21")
	c.Say(simtrace.Client, "EPSV\r\n")
	c.Say(simtrace.Server, "229 Entering Extended Passive Mode (|||2000|)\r\n")
	c.Close(simtrace.Client)
	out = append(out, tr)
	return out
}

// FuzzAnalyze runs the whole pipeline, from raw capture bytes to the JSON
// report, on arbitrary input: it must never panic, whatever it reports
// must be valid JSON, and the report written from sessions handed on while
// the capture is read must be the one written from the whole analysis.
func FuzzAnalyze(f *testing.F) {
	for _, tr := range seedTraces() {
		var b bytes.Buffer
		if err := tr.WritePcap(&b); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		input := func() []analyze.Input {
			return []analyze.Input{{Name: "fuzz.pcap", Reader: bytes.NewReader(data)}}
		}
		a, _ := analyze.Run(context.Background(), input(), analyze.Options{})
		doc := report.Build(a)
		out, err := json.Marshal(doc)
		if err != nil {
			t.Fatalf("report does not marshal: %v", err)
		}
		if !json.Valid(out) {
			t.Fatal("invalid JSON")
		}
		if err := report.WriteText(io.Discard, a, report.TextOptions{Explain: true}); err != nil {
			t.Fatal(err)
		}

		var whole, streamed bytes.Buffer
		if err := report.WriteJSON(&whole, a, false); err != nil {
			t.Fatal(err)
		}
		js := report.NewJSONStream(false, 0)
		defer js.Close()
		a, _ = analyze.Run(context.Background(), input(), analyze.Options{Sessions: js.Session})
		if err := js.Finish(&streamed, a); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(whole.Bytes(), streamed.Bytes()) {
			t.Fatalf("streamed report differs:\n%s\nwhole:\n%s", streamed.String(), whole.String())
		}
	})
}
