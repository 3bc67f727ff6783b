package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"strings"

	"ftpdiag/analyze"
	"ftpdiag/report"
)

const natCapture = "../fixtures/captures/02-nat-pasv-curl-follow-client.pcap"

// Write the terminal report of an analysis. The findings come last, most
// severe first, each with a Wireshark display filter showing its evidence;
// this example prints only them.
func ExampleWriteText() {
	a, err := analyze.Run(context.Background(), analyze.Files(natCapture), analyze.Options{})
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	if err := report.WriteText(&out, a, report.TextOptions{}); err != nil {
		log.Fatal(err)
	}
	// The verdict and the findings come first; the details follow.
	head, _, _ := strings.Cut(out.String(), "\nInputs")
	fmt.Print(strings.TrimSpace(head) + "\n")
	// Output:
	// Verdict: ERROR: 1 error, 0 warnings, 0 info in 1 FTP session (0 transfers, 0 failed)
	//
	// Findings (1)
	// F1 ERROR pasv_address_mismatch (session 1): 227 reply announces 172.16.40.222 (private (RFC 1918)) but the control connection goes to 203.0.113.10
	//     Wireshark: ftp.passive.ip == 172.16.40.222 || ftp.response.code == 227 && frame.number == 14 || ip.dst == 172.16.40.222 && tcp.flags.syn == 1 && tcp.flags.ack == 0
}

// Write the JSON document (schema ftpdiag/v1) of an analysis; this example
// prints a few of its lines.
func ExampleWriteJSON() {
	a, err := analyze.Run(context.Background(), analyze.Files(natCapture), analyze.Options{})
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	if err := report.WriteJSON(&out, a, false); err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		for _, key := range []string{`"schema"`, `"kind"`, `"severity"`, `"summary"`} {
			if strings.HasPrefix(strings.TrimSpace(line), key) {
				fmt.Println(strings.TrimSpace(line))
			}
		}
	}
	// Output:
	// "schema": "ftpdiag/v1",
	// "kind": "PASV",
	// "kind": "pasv_address_mismatch",
	// "severity": "error",
	// "summary": "227 reply announces 172.16.40.222 (private (RFC 1918)) but the control connection goes to 203.0.113.10",
}

// Write the JSON document while the capture is read: each session is
// encoded as soon as its analysis is final and then let go, so memory
// follows the sessions open at once, not the length of the capture. The
// document is byte for byte the one WriteJSON writes.
func ExampleNewJSONStream() {
	js := report.NewJSONStream(false, 0)
	defer js.Close()
	path := "../fixtures/captures/12-synthetic-pasv-in-use-425.pcap"
	a, err := analyze.Run(context.Background(), analyze.Files(path), analyze.Options{Sessions: js.Session})
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	if err := js.Finish(&out, a); err != nil {
		log.Fatal(err)
	}
	// The document decodes into report.Document.
	var doc report.Document
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		log.Fatal(err)
	}
	fmt.Println(doc.Schema, len(doc.Sessions), "session(s),", doc.Stats.Packets, "packets")
	for _, s := range doc.Sessions {
		for _, t := range s.Transfers {
			fmt.Printf("session %d transfer %d: %s %s %s\n", s.ID, t.ID, t.Command, t.Mode, t.Outcome)
		}
	}
	for _, f := range doc.Findings {
		fmt.Println(f.ID, f.Severity, f.Kind)
	}
	// Output:
	// ftpdiag/v1 3 session(s), 137 packets
	// session 1 transfer 1: RETR passive closed_without_data
	// session 2 transfer 1: RETR passive incomplete
	// session 3 transfer 1: RETR passive completed
	// F1 info data_fin_without_data
	// F2 info capture_incomplete
	// F3 error passive_port_exhaustion
}
