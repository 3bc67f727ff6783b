package report

import (
	"strings"
	"testing"
	"time"

	"ftpdiag/ftpflow"
)

// TestTimelineControlWords checks what the ladder writes for client lines
// and replies: a Secret line (the possible rest of a PASS line cut by
// the capture) and a PASS argument are masked, and an RFC 2228 protected
// reply (6yz) is not drawn as a failure.
func TestTimelineControlWords(t *testing.T) {
	at := func(frame int) ftpflow.Event {
		return ftpflow.Event{Frame: frame, Time: time.Unix(1700000000, int64(frame)*int64(time.Millisecond))}
	}
	tests := []struct {
		name      string
		entry     ftpflow.LogEntry
		show      bool
		wantLabel string
		notIn     string
	}{
		{"secret line", ftpflow.LogEntry{From: ftpflow.Client, Secret: true, Event: at(5)}, false, "****", ""},
		{"secret line shown passwords", ftpflow.LogEntry{From: ftpflow.Client, Secret: true, Event: at(5)}, true, "****", ""},
		{"pass masked", ftpflow.LogEntry{From: ftpflow.Client, Verb: "PASS", Arg: "sunshine", Event: at(5)}, false, "PASS ****", "sunshine"},
		{"pass shown", ftpflow.LogEntry{From: ftpflow.Client, Verb: "PASS", Arg: "sunshine", Event: at(5)}, true, "PASS sunshine", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &ftpflow.Session{ID: 1, Control: &ftpflow.Conn{}, Log: []ftpflow.LogEntry{tt.entry}}
			tl := BuildTimeline(s, nil, TimelineOptions{ShowPasswords: tt.show})
			var labels []string
			for _, st := range tl.Steps {
				labels = append(labels, st.Label)
			}
			all := strings.Join(labels, "|")
			if !strings.Contains(all, tt.wantLabel) {
				t.Errorf("labels %q, want one %q", all, tt.wantLabel)
			}
			if tt.notIn != "" && strings.Contains(all, tt.notIn) {
				t.Errorf("labels %q show %q", all, tt.notIn)
			}
		})
	}
	for code, want := range map[int]bool{633: false, 632: false, 425: true, 550: true, 226: false} {
		if got := failedReply(code); got != want {
			t.Errorf("failedReply(%d) = %v, want %v", code, got, want)
		}
	}
}
