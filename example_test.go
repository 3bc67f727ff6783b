package ftpdiag_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"

	"ftpdiag"
	"ftpdiag/analyze"
)

// Analyse a capture and write its JSON document (schema ftpdiag/v1). With
// the JSON document as the only report, each session is encoded as soon
// as its analysis is final and let go: memory stays bounded however long
// the capture.
func ExampleRun() {
	var doc bytes.Buffer
	res, err := ftpdiag.Run(context.Background(), analyze.Files("fixtures/captures/02-nat-pasv-curl-follow-client.pcap"),
		analyze.Options{}, ftpdiag.Outputs{JSON: &ftpdiag.JSONReport{W: &doc}})
	if err != nil {
		log.Print(err) // each problem on its own line; res holds everything read
	}
	fmt.Println("streamed:", res.Streamed, "- worst:", res.Worst)

	var d struct {
		Findings []struct{ ID, Kind string }
	}
	if err := json.Unmarshal(doc.Bytes(), &d); err != nil {
		log.Fatal(err)
	}
	for _, f := range d.Findings {
		fmt.Println(f.ID, f.Kind)
	}
	// Output:
	// streamed: true - worst: error
	// F1 pasv_address_mismatch
}

// Write the terminal report and pick the sessions worth an evidence
// capture: the one a server refused for want of passive ports, and those
// holding the ports. The text report needs every session, so the analysis
// is kept whole; extract.ToDir writes the captures, with
// extract.Options{Read: res.Analysis.Inputs}.
func ExampleRun_evidence() {
	res, err := ftpdiag.Run(context.Background(), analyze.Files("fixtures/captures/12-synthetic-pasv-in-use-425.pcap"),
		analyze.Options{}, ftpdiag.Outputs{Text: []ftpdiag.TextReport{{W: io.Discard}}, Evidence: true})
	if err != nil {
		log.Print(err)
	}
	fmt.Println("streamed:", res.Streamed, "- sessions:", len(res.Analysis.Sessions))
	for _, t := range res.Evidence {
		fmt.Println(t.FileName(""))
	}
	// Output:
	// streamed: false - sessions: 3
	// session-1_198.51.100.21-40112_203.0.113.10-21.pcapng
	// session-2_198.51.100.22-52001_203.0.113.10-21.pcapng
	// session-3_198.51.100.10-44870_203.0.113.10-21.pcapng
}
