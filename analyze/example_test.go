package analyze_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
	"ftpdiag/pcap"
)

// Analyse a capture and list what went wrong: here a server behind NAT
// announces its private address in its 227 reply. An error does not make
// the analysis useless: it holds everything read before a damaged record,
// and beside a file that did not open, the others.
func ExampleRun() {
	a, err := analyze.Run(context.Background(), analyze.Files("../fixtures/captures/02-nat-pasv-curl-follow-client.pcap"), analyze.Options{})
	if err != nil {
		log.Print(err) // each problem on its own line
	}
	if errors.Is(err, analyze.ErrNothingRead) {
		return
	}
	for _, f := range a.Findings {
		fmt.Println(f.ID, f.Severity, f.Kind)
	}
	// Output:
	// F1 error pasv_address_mismatch
}

// Read packets from a source of one's own (here one file opened with
// package pcap) and receive each session with its findings as soon as its
// analysis is final, while the capture is still read: memory then follows
// the sessions open at once, not the length of the capture.
func ExamplePackets() {
	r, err := pcap.OpenSequential("../fixtures/captures/12-synthetic-pasv-in-use-425.pcap")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	opt := analyze.Options{Sessions: func(s *ftpflow.Session, findings []analyze.Finding) {
		fmt.Printf("session %d: %s > %s, %d transfer(s)\n", s.ID, s.Client, s.Server, len(s.Transfers))
		for _, f := range findings {
			fmt.Printf("  %s %s %s\n", f.ID, f.Severity, f.Kind)
		}
	}}
	a, err := analyze.Packets(context.Background(), r, opt)
	if err != nil {
		log.Print(err) // a holds the analysis of what was read before it
	}
	// Findings about the whole capture rather than one session, if any,
	// come at the end.
	fmt.Println(a.Stats.Packets, "packets,", len(a.Findings), "finding(s) about the whole capture")
	// Output:
	// session 1: 198.51.100.21:40112 > 203.0.113.10:21, 1 transfer(s)
	//   F1 info data_fin_without_data
	// session 2: 198.51.100.22:52001 > 203.0.113.10:21, 1 transfer(s)
	//   F2 info capture_incomplete
	// session 3: 198.51.100.10:44870 > 203.0.113.10:21, 1 transfer(s)
	//   F3 error passive_port_exhaustion
	// 137 packets, 0 finding(s) about the whole capture
}
