package report

import (
	"reflect"
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
