package analyze_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"ftpdiag/analyze"
	"ftpdiag/internal/simtrace"
	"ftpdiag/pcap"
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
	return out
}

// FuzzAnalyze runs the whole pipeline, from raw capture bytes to the JSON
// report, on arbitrary input: it must never panic, and whatever it reports
// must be valid JSON.
func FuzzAnalyze(f *testing.F) {
	for _, tr := range seedTraces() {
		var b bytes.Buffer
		if err := tr.WritePcap(&b); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := pcap.NewReader(bytes.NewReader(data), "fuzz.pcap")
		if err != nil {
			return
		}
		m := pcap.NewMerger(r)
		a, _ := analyze.Run(m, analyze.Options{})
		doc := report.Build(m.Infos(), a)
		out, err := json.Marshal(doc)
		if err != nil {
			t.Fatalf("report does not marshal: %v", err)
		}
		if !json.Valid(out) {
			t.Fatal("invalid JSON")
		}
		var w bytes.Buffer
		report.WriteText(&w, doc, report.TextOptions{Explain: true})
	})
}
