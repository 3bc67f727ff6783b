package service_test

import (
	"bytes"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"testing"

	"ftpdiag/service/api"
	"ftpdiag/service/store"
)

// TestReportFormatsMatchCLI uploads every shipped capture and checks that
// each stored report, in every format the service serves, is byte for byte
// what the real CLI prints on the same file under the same name: the JSON
// document, the text report (fitted to the width the CLI gives a pipe),
// the explained text report, and the HTML page.
func TestReportFormatsMatchCLI(t *testing.T) {
	ts := startService(t, nil)
	names := fixtureNames(t)
	ids := map[string]string{}
	for _, n := range names {
		ids[n] = ts.uploadFile(acmeToken, n).ID
	}
	formats := []struct {
		query  string   // the report's query string
		format string   // the CLI's --format
		flags  []string // the CLI's other flags
	}{
		{"", "json", nil},
		{"?format=json", "json", nil},
		{"?format=text", "text", nil},
		{"?format=text&explain=true", "text", []string{"--explain"}},
		{"?format=html", "html", nil},
	}
	// The CLI runs meanwhile, a few at once; cliReport then answers what
	// they printed (or runs the CLI again, and fails on its error).
	bin := ftpdiagBinary(t)
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(2, runtime.NumCPU()))
	for _, n := range names {
		for _, f := range formats {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				runCLI(bin, f.format, f.flags, n)
			})
		}
	}
	wg.Wait()
	for _, n := range names {
		if c := ts.wait(acmeToken, ids[n]); c.Status != store.Done {
			t.Errorf("%s: status %s, error %v", n, c.Status, c.Error)
			continue
		}
		for _, f := range formats {
			r := ts.do("GET", "/api/v1/captures/"+ids[n]+"/report"+f.query, acmeToken, nil)
			if r.code != http.StatusOK {
				t.Errorf("%s: report%s: %v", n, f.query, r)
				continue
			}
			if want := cliReport(t, f.format, f.flags, n); !bytes.Equal(r.body, want) {
				t.Errorf("%s: report%s differs from `ftpdiag --format %s %v %s` (%d bytes against %d)%s",
					n, f.query, f.format, f.flags, n, len(r.body), len(want), firstDifference(r.body, want))
			}
		}
	}
}

// firstDifference shows where two outputs part, for a failure message.
func firstDifference(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	excerpt := func(b []byte) []byte { return b[max(0, i-40):min(len(b), i+40)] }
	return fmt.Sprintf("\n\tat byte %d:", i) + "\n\tservice: " + string(bytes.ReplaceAll(excerpt(got), []byte("\n"), []byte("⏎"))) +
		"\n\tCLI:     " + string(bytes.ReplaceAll(excerpt(want), []byte("\n"), []byte("⏎")))
}

// TestRawUploadName checks what the README says of a raw-body upload's
// name: without ?name= (a bare `curl --data-binary @capture.pcap`) the
// report names the input "capture", so it differs from the CLI's; with
// ?name=FILE, or ?filename=FILE beside another name, it is the CLI's.
func TestRawUploadName(t *testing.T) {
	ts := startService(t, nil)
	const fixture = "02-nat-pasv-curl-follow-client.pcap"
	for _, tc := range []struct {
		query    string
		file     string // the report's inputs[0].file
		matchCLI bool
	}{
		{"", "capture", false},
		{"?name=" + fixture, fixture, true},
		{"?name=ticket-42&filename=" + fixture, fixture, true},
	} {
		r := ts.do("POST", "/api/v1/captures"+tc.query, acmeToken, fixtureReader(t, fixture))
		if r.code != http.StatusAccepted {
			t.Fatalf("upload%s: %v", tc.query, r)
		}
		var acc api.Accepted
		decode(t, r.body, &acc)
		if c := ts.wait(acmeToken, acc.ID); c.Status != store.Done {
			t.Fatalf("upload%s: %s", tc.query, c.Status)
		}
		rep := ts.do("GET", acc.ReportURL, acmeToken, nil)
		var doc struct {
			Inputs []struct{ File string }
		}
		decode(t, rep.body, &doc)
		if len(doc.Inputs) != 1 || doc.Inputs[0].File != tc.file {
			t.Errorf("upload%s: inputs %+v, want one named %q", tc.query, doc.Inputs, tc.file)
		}
		if got := bytes.Equal(rep.body, cliJSON(t, fixture)); got != tc.matchCLI {
			t.Errorf("upload%s: report identical to the CLI's: %v, want %v", tc.query, got, tc.matchCLI)
		}
	}
}
