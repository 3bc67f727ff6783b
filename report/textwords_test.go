package report

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestTextWords: what the terminal report says instead of raw values
// ("closed by reset_by_server", "0s", Go's map syntax).
func TestTextWords(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"both closed", closedWords("both"), "closed by both"},
		{"reset", closedWords("reset_by_server"), "reset by the server"},
		{"open", closedWords("open"), "open at end"},
		{"sub-millisecond", tookWords(400 * time.Microsecond), "<1ms"},
		{"rounded", tookWords(2047600 * time.Microsecond), "2.048s"},
		{"reply", readable(reflect.ValueOf(map[string]any{"code": 425, "frame": 20, "text": "Can't open data connection."})),
			"(code 425, frame 20, text Can't open data connection.)"},
		{"frames", readable(reflect.ValueOf([]int{71, 72})), "71, 72"},
		{"list of maps", readable(reflect.ValueOf([]map[string]any{{"session": 1, "port": 50000}})), "(port 50000, session 1)"},
		{"nil", readable(reflect.ValueOf(map[string]any{"rst": nil})), "(rst none)"},
		{"evidence line", evidenceLine(map[string]any{"syn_frames": []int{3, 4}, "announced": "192.0.2.1:50000"}),
			"announced: 192.0.2.1:50000; syn frames: 3, 4"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

// TestTransfersFold: past FoldTransfers transfers, the table lists those
// that did not end ok and counts the others, unless AllTransfers; the
// verdict line comes first and names the worst severity.
func TestTransfersFold(t *testing.T) {
	d := &Document{Sessions: []Session{{ID: 1}}, Findings: []Finding{{ID: "F1", Severity: "warning", Kind: "k"}}}
	for i := 1; i <= FoldTransfers+5; i++ {
		status := "ok"
		if i == 7 {
			status = "failed"
		}
		d.Sessions[0].Transfers = append(d.Sessions[0].Transfers, Transfer{ID: i, Command: "RETR", Status: status})
	}
	d.Sessions[0].Counts.Transfers = FoldTransfers + 5
	for _, all := range []bool{false, true} {
		var b strings.Builder
		tw := &textWriter{w: &b, opt: TextOptions{AllTransfers: all}}
		tw.verdict(d)
		tw.transfers(d)
		out := b.String()
		rows := strings.Count(out, "│ 1/")
		want := 1
		if all {
			want = FoldTransfers + 5
		}
		if rows != want || strings.Contains(out, "not shown") == all {
			t.Errorf("AllTransfers %v: %d rows, want %d:\n%s", all, rows, want, out)
		}
		if !strings.HasPrefix(out, "\nVerdict: WARNING: 0 errors, 1 warning, 0 info in 1 FTP session (25 transfers, 0 failed)") {
			t.Errorf("verdict line: %q", strings.SplitN(out, "\n", 3)[1])
		}
	}
}
