package report

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ftpdiag/analyze"
	"ftpdiag/correlate"
	"ftpdiag/ftpflow"
)

// viewPairs are the fixture captures taken at the same time at several
// places (fixtures/README.md says what truly happened in each), by
// scenario: client and server, or client, router and server.
var viewPairs = []string{
	"02-nat-pasv-curl-follow", "02-nat-pasv-helper-curl-follow", "03-pasv-dropped-curl", "04-active-client-firewall-curl",
	"05-masq-helper-port21", "05-masq-helper-port2121", "05-masq-port-lan-address", "05-masq-port-promiscuous",
	"07-tls-nat-helper-blind-curl", "10-middlebox-reset", "10-server-killed-vsftpd", "11-mtu-blackhole",
	"13-timewait-reuse-ts-off", "13-timewait-reuse-ts-on", "16-routed-dnat-pasv-address-curl",
}

// viewInputs returns a scenario's captures, in the order client, router,
// server (those that exist).
func viewInputs(t *testing.T, scenario string) []analyze.Input {
	t.Helper()
	var names []string
	for _, where := range []string{"client", "router", "server"} {
		p := "../fixtures/captures/" + scenario + "-" + where + ".pcap"
		if _, err := os.Stat(p); err == nil {
			names = append(names, p)
		}
	}
	if len(names) < 2 {
		t.Fatalf("%s: %d captures, want 2 or 3", scenario, len(names))
	}
	return analyze.Files(names...)
}

// scenarioLadders correlates and analyses a scenario's captures and
// builds the ladders of every pair of views.
func scenarioLadders(t *testing.T, scenario string, opt TimelineOptions) (*correlate.Result, [][]*viewLadder) {
	t.Helper()
	in := viewInputs(t, scenario)
	r, err := correlate.Correlate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	// Each input analysed on its own, as ftpdiag does with views.
	var sessions []*ftpflow.Session
	for i := range in {
		a, err := analyze.RunView(context.Background(), in, i, analyze.Options{Tracker: ftpflow.Config{KeepLog: true}})
		if err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, a.Sessions...)
	}
	var out [][]*viewLadder
	for _, p := range r.Pairs {
		out = append(out, pairLadders(r, p, sessions, opt))
	}
	return r, out
}

// writeViewLadders draws a scenario's ladders in text at width.
func writeViewLadders(t *testing.T, scenario string, width int) string {
	t.Helper()
	_, pairs := scenarioLadders(t, scenario, TimelineOptions{})
	var b bytes.Buffer
	for _, ls := range pairs {
		for _, l := range ls {
			newViewLayout(l, width).write(&b)
		}
	}
	return b.String()
}

// TestViewLadderGolden compares the text ladders of three pairs, drawn at
// 80 columns, with testdata/ladder4 (written with -update after review):
// a NAT announcing a private address (SYNs lost at the client's point), a
// helper rewriting PORT (both texts), an MTU black hole (full-size
// segments lost at the server's point).
func TestViewLadderGolden(t *testing.T) {
	for _, scenario := range []string{"02-nat-pasv-curl-follow", "05-masq-helper-port21", "11-mtu-blackhole"} {
		t.Run(scenario, func(t *testing.T) {
			got := writeViewLadders(t, scenario, 80)
			path := filepath.Join("testdata", "ladder4", scenario+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("ladder differs from %s:\n%s", path, got)
			}
		})
	}
}

// TestViewLadderStops checks, on every fixture pair, that each packet
// seen at one capture point only is drawn from or to that point: one that
// vanished stops with an X on the column of the point that last saw it
// (and nothing is drawn past it), one made between the points starts with
// a star on the column where it appeared; and that the ladders show as
// many vanished and made packets as the comparison found (known counts
// for the scenarios where something was lost or made).
func TestViewLadderStops(t *testing.T) {
	want := map[string][2]int{ // vanished, made
		"02-nat-pasv-curl-follow":      {3, 0},
		"03-pasv-dropped-curl":         {3, 0},
		"05-masq-port-promiscuous":     {3, 0},
		"07-tls-nat-helper-blind-curl": {1, 1},
		"10-middlebox-reset":           {9, 6},
		"11-mtu-blackhole":             {16, 0},
	}
	for _, scenario := range viewPairs {
		t.Run(scenario, func(t *testing.T) {
			r, pairs := scenarioLadders(t, scenario, TimelineOptions{All: true})
			var drawn, found [2]int
			for k, ls := range pairs {
				found = add2(found, lossCounts(r.Pairs[k]))
				for _, l := range ls {
					drawn = add2(drawn, checkStops(t, l))
				}
			}
			if drawn != found {
				t.Errorf("ladders draw %d vanished and %d made packets; the comparison found %d and %d", drawn[0], drawn[1], found[0], found[1])
			}
			if w, ok := want[scenario]; ok && drawn != w {
				t.Errorf("ladders draw %d vanished and %d made packets, want %d and %d", drawn[0], drawn[1], w[0], w[1])
			}
		})
	}
}

func add2(a, b [2]int) [2]int { return [2]int{a[0] + b[0], a[1] + b[1]} }

// lossCounts counts the vanished and made packets a pair's comparison
// found.
func lossCounts(p correlate.Pair) [2]int {
	var n [2]int
	count := func(ls []correlate.Loss) {
		for _, l := range ls {
			switch {
			case l.Kind.Vanished():
				n[0] += l.Packets
			case l.Kind != correlate.Unplaced:
				n[1] += l.Packets
			}
		}
	}
	for _, c := range p.Conns {
		count(c.Losses)
	}
	for _, l := range p.Lone {
		count(l.Losses)
	}
	return n
}

// checkStops checks where each step seen at one point only is drawn and
// returns how many vanished and made packets the ladder shows.
func checkStops(t *testing.T, l *viewLadder) [2]int {
	t.Helper()
	var n [2]int
	const lane = 10
	for _, st := range l.Steps {
		if st.SeenIn < 0 {
			continue
		}
		col := colNear
		if st.SeenIn == l.Far {
			col = colFar
		}
		line := []rune(strings.Repeat(" ", 3*lane+1))
		drawViewArrow(line, st, lane)
		switch {
		case st.End == endVanished:
			n[0] += st.Packets
			past := string(line[col*lane+1:])
			if st.From > st.To {
				past = string(line[:col*lane])
			}
			if st.To != col || line[col*lane] != 'X' || strings.Trim(past, " ") != "" {
				t.Errorf("%s (frames %s) seen only in [%d] is drawn %q; want it to stop with X at column %d", st.Label, st.Frames, st.SeenIn+1, string(line), col)
			}
		case st.Start == startMade:
			n[1] += st.Packets
			if st.From != col || line[col*lane] != '*' {
				t.Errorf("%s (frames %s) made before [%d] is drawn %q; want it to start with * at column %d", st.Label, st.Frames, st.SeenIn+1, string(line), col)
			}
		}
	}
	return n
}

// TestViewLadderWidth: at 80 and 100 columns every line of every
// scenario's ladders fits; without a limit the lanes are the widest.
func TestViewLadderWidth(t *testing.T) {
	for _, scenario := range viewPairs {
		for _, width := range []int{80, 100} {
			for i, line := range strings.Split(writeViewLadders(t, scenario, width), "\n") {
				if n := columns(line); n > width {
					t.Errorf("%s at %d columns: line %d is %d wide: %q", scenario, width, i+1, n, line)
				}
			}
		}
	}
	if l := newViewLayout(&viewLadder{}, 0); l.lane != viewLane || l.note != 0 {
		t.Errorf("unlimited width: lanes %d apart, notes %d wide; want %d and unlimited", l.lane, l.note, viewLane)
	}
}

// TestViewLadderFolds: past MaxLadderSteps, a ladder keeps its first and
// last steps and the flagged ones, and says how many it left out.
func TestViewLadderFolds(t *testing.T) {
	tests := []struct {
		steps, flaggedAt, wantLen int
	}{
		{10, -1, 10},
		{MaxLadderSteps, -1, MaxLadderSteps},
		{1000, -1, MaxLadderSteps/2 + 1 + MaxLadderSteps/4},
		{1000, 500, MaxLadderSteps/2 + 1 + 1 + 1 + MaxLadderSteps/4},
	}
	for _, tt := range tests {
		steps := make([]viewStep, tt.steps)
		for i := range steps {
			steps[i] = viewStep{Packets: 1, Label: "x"}
		}
		if tt.flaggedAt >= 0 {
			steps[tt.flaggedAt] = viewStep{Packets: 1, Flagged: true, Label: "lost"}
		}
		got := capViewSteps(steps, MaxLadderSteps)
		if len(got) != tt.wantLen {
			t.Errorf("%d steps (flagged at %d): %d kept, want %d", tt.steps, tt.flaggedAt, len(got), tt.wantLen)
		}
		kept := 0
		for _, st := range got {
			switch {
			case st.Fold:
				var hidden, packets int
				if _, err := fmt.Sscanf(st.Note, "%d more steps (%d packets)", &hidden, &packets); err != nil {
					t.Errorf("fold note %q: %v", st.Note, err)
				}
				kept += hidden
			default:
				kept++
			}
		}
		if kept != tt.steps {
			t.Errorf("%d steps: %d drawn or counted in folds", tt.steps, kept)
		}
		if tt.flaggedAt >= 0 && !containsFlagged(got) {
			t.Errorf("the flagged step is folded away")
		}
	}
}

func containsFlagged(steps []viewStep) bool {
	for _, st := range steps {
		if st.Flagged {
			return true
		}
	}
	return false
}
