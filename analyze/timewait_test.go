package analyze

import (
	"context"
	"slices"
	"testing"
	"time"

	"ftpdiag/ftpflow"
	"ftpdiag/internal/simtrace"
)

// TestTimeWaitOneSource: the tracker and the rules go by one TIME-WAIT,
// Tracker.TimeWait, whatever the older Options.TimeWait says; that one
// counts only when Tracker.TimeWait is zero. The same active 5-tuple is
// used twice, 5 s apart: a reuse within a longer TIME-WAIT.
func TestTimeWaitOneSource(t *testing.T) {
	const short, long = 2 * time.Second, 240 * time.Second
	reuse := []string{"timewait_tuple_reuse:warning"}
	tests := []struct {
		name           string
		tracker, older time.Duration
		want           []string
	}{
		{"defaults", 0, 0, reuse},
		{"tracker short", short, 0, nil},
		{"older field short", 0, short, nil},
		{"tracker long wins over older field short", long, short, reuse},
		{"tracker short wins over older field long", short, long, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := simtrace.New()
			c := tr.Login(cli, srv)
			tr.FixedPortListings(c, 2, 5*time.Second)
			opt := Options{TimeWait: tt.older, Tracker: ftpflow.Config{TimeWait: tt.tracker}}
			a, err := Packets(context.Background(), &source{ps: tr.Packets}, opt)
			if err != nil {
				t.Fatal(err)
			}
			if got := kinds(a); !slices.Equal(got, tt.want) {
				t.Errorf("findings %q, want %q", got, tt.want)
			}
		})
	}
}
