package analyze_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
)

// captureFiles lists the fixture captures and, when present, the shared
// corpus's.
func captureFiles(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("../fixtures/captures/*.pcap")
	_ = filepath.WalkDir("../../shared/corpus", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && slices.Contains([]string{".pcap", ".pcapng", ".cap", ".gz"}, filepath.Ext(p)) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Fatal("no captures")
	}
	return files
}

// TestFailedTransferCarriesError checks, on every real capture, that a
// transfer whose data connection failed carries an error finding (an
// uncertain cause lowers the confidence, not the severity), unless the
// client aborted it on purpose, which is info.
func TestFailedTransferCarriesError(t *testing.T) {
	var failedN, abortedN int
	defer func() { t.Logf("checked %d failed transfers, %d aborted by the client", failedN, abortedN) }()
	for _, f := range captureFiles(t) {
		a, _ := analyze.Run(context.Background(), analyze.Files(f), analyze.Options{})
		for _, s := range a.Sessions {
			for _, tr := range s.Transfers {
				if !tr.Outcome.Failed() || refusedCommand(tr) {
					continue
				}
				failedN++
				if tr.Aborted {
					abortedN++
				}
				worst, found := worstFor(a.Findings, s.ID, tr.ID)
				switch {
				case tr.Aborted && (!found || worst > analyze.Info):
					t.Errorf("%s session %d transfer %d: aborted by the client, yet its worst finding is %v (found %v); want info",
						filepath.Base(f), s.ID, tr.ID, worst, found)
				case !tr.Aborted && worst != analyze.Error:
					t.Errorf("%s session %d transfer %d (%v): worst finding %v (found %v); want error",
						filepath.Base(f), s.ID, tr.ID, tr.Outcome, worst, found)
				}
			}
		}
	}
}

// refusedCommand reports whether the server refused the transfer command
// itself (550 no such file, 500 line too long): a failed command, not a
// failed data connection; transfer_failed_reply reports it as info.
func refusedCommand(t *ftpflow.Transfer) bool {
	f := t.Final()
	return f != nil && f.Code >= 400 && f.Code != 425 && f.Code != 426 && f.Code != 451
}

func worstFor(fs []analyze.Finding, session, transfer int) (analyze.Severity, bool) {
	worst, found := analyze.Info, false
	for _, f := range fs {
		if f.Session == session && (f.Transfer == transfer || slices.Contains(f.Refs.Transfers, transfer)) {
			found = true
			worst = max(worst, f.Severity)
		}
	}
	return worst, found
}
