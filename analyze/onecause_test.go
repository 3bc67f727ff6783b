package analyze_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"ftpdiag/analyze"
	"ftpdiag/internal/gen"
)

// TestOneRootCausePerFailure: on generated captures of several seeds, no
// transfer gets two error findings (one failure, one root cause; a server
// refusal "never attempted" beside a refused SYN contradicted itself).
func TestOneRootCausePerFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: generates 32 MB of captures (-short)")
	}
	for _, seed := range []uint64{1, 2, 3, 7} {
		var b bytes.Buffer
		if _, err := gen.Write(&b, gen.Config{Seed: seed, Size: 8_000_000, Format: gen.FormatPcap}); err != nil {
			t.Fatal(err)
		}
		in := []analyze.Input{{Name: fmt.Sprintf("seed-%d.pcap", seed), Reader: &b}}
		a, err := analyze.Run(context.Background(), in, analyze.Options{})
		if err != nil {
			t.Fatal(err)
		}
		causes := map[[2]int][]string{}
		for _, f := range a.Findings {
			if f.Severity == analyze.Error && f.Transfer != 0 {
				k := [2]int{f.Session, f.Transfer}
				causes[k] = append(causes[k], f.Kind)
			}
		}
		for k, kinds := range causes {
			if len(kinds) > 1 {
				t.Errorf("seed %d: session %d transfer %d has %d error findings: %v", seed, k[0], k[1], len(kinds), kinds)
			}
		}
	}
}
