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

// corpusFiles lists the shared corpus's captures; it skips the calling
// test when the corpus is absent, and fails under CI, where it is
// mandatory.
func corpusFiles(t *testing.T) []string {
	t.Helper()
	const dir = "../../shared/corpus"
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared corpus missing under CI: %v", err)
		}
		t.Skipf("shared corpus absent (%v): its captures are not checked", err)
	}
	var files []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && slices.Contains([]string{".pcap", ".pcapng", ".cap", ".gz"}, filepath.Ext(p)) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Fatalf("no capture in %s", dir)
	}
	return files
}

// TestCountsMatchVerdicts checks, on every fixture and corpus capture,
// that a session's transfer counts agree with the findings: a transfer
// whose data connection or final reply says it failed is counted failed
// (it carries an error finding), a transfer the client cancelled with
// ABOR is counted aborted and carries nothing above info, a transfer the
// server and its data connection both report complete is never counted
// failed, and every transfer is counted once.
func TestCountsMatchVerdicts(t *testing.T) {
	t.Run("fixtures", func(t *testing.T) {
		files, _ := filepath.Glob("../fixtures/captures/*.pcap*")
		if len(files) == 0 {
			t.Fatal("no fixture captures")
		}
		checkCounts(t, files)
	})
	t.Run("corpus", func(t *testing.T) { checkCounts(t, corpusFiles(t)) })
}

func checkCounts(t *testing.T, files []string) {
	var n analyze.TransferCounts
	for _, f := range files {
		a, _ := analyze.Run(context.Background(), analyze.Files(f), analyze.Options{})
		for _, s := range a.Sessions {
			c := analyze.CountTransfers(s, a.Findings)
			if c.OK+c.Failed+c.Aborted+c.Refused+c.Other != c.Transfers || c.Transfers != len(s.Transfers) {
				t.Errorf("%s session %d: counts %+v do not add up to %d transfers", filepath.Base(f), s.ID, c, len(s.Transfers))
			}
			n.Transfers += c.Transfers
			n.Failed += c.Failed
			n.Aborted += c.Aborted
			for _, tr := range s.Transfers {
				checkTransferCount(t, filepath.Base(f), s, tr, a.Findings)
			}
		}
	}
	t.Logf("%d captures, %d transfers: %d failed, %d aborted by the client", len(files), n.Transfers, n.Failed, n.Aborted)
}

// checkTransferCount counts one transfer alone (a session holding only
// it) and checks the count against the transfer's own facts.
func checkTransferCount(t *testing.T, file string, s *ftpflow.Session, tr *ftpflow.Transfer, fs []analyze.Finding) {
	t.Helper()
	one := *s
	one.Transfers = []*ftpflow.Transfer{tr}
	c := analyze.CountTransfers(&one, fs)
	worst, found := worstFor(fs, s.ID, tr.ID)
	f := tr.Final()
	// A code about the data connection or its protection; any other 4xx
	// or 5xx refuses the command itself (550 no such file), whatever
	// became of a data connection opened before it.
	dataCode := f != nil && slices.Contains([]int{425, 426, 451, 521, 522, 534, 536}, f.Code)
	refused := f != nil && f.Code >= 400 && !dataCode
	dataFailure := dataCode || tr.Outcome.Failed() && !refused
	confirmed := tr.Status == ftpflow.StatusOK && (tr.Outcome == ftpflow.OutcomeCompleted || tr.Outcome == ftpflow.OutcomeNotCaptured)
	switch {
	case tr.Aborted && (c.Aborted != 1 || found && worst > analyze.Info):
		t.Errorf("%s session %d transfer %d: the client aborted it (ABOR), yet counted %+v, worst finding %v", file, s.ID, tr.ID, c, worst)
	case !tr.Aborted && dataFailure && c.Failed != 1:
		t.Errorf("%s session %d transfer %d (%v, reply %v): failed, yet counted %+v (worst finding %v, found %v)", file, s.ID, tr.ID, tr.Outcome, f, c, worst, found)
	case confirmed && c.Failed != 0:
		t.Errorf("%s session %d transfer %d: server and data connection say complete, yet counted failed (an error finding on it)", file, s.ID, tr.ID)
	}
}
