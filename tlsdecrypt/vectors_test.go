package tlsdecrypt

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readVectors reads a testdata vector file, failing the test on error.
func readVectors(t testing.TB, name string) map[string][]byte {
	t.Helper()
	v, err := loadVectors(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// loadVectors reads a testdata vector file: a line with a name, then its
// octets in hex on indented lines; '#' lines are comments.
func loadVectors(name string) (map[string][]byte, error) {
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	v := map[string][]byte{}
	var cur string
	var digits strings.Builder
	flush := func() error {
		if cur == "" {
			return nil
		}
		b, err := hex.DecodeString(digits.String())
		if err != nil {
			return fmt.Errorf("%s: vector %s: %v", name, cur, err)
		}
		v[cur] = b
		cur = ""
		digits.Reset()
		return nil
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "":
		case line[0] == ' ' || line[0] == '\t':
			if cur == "" {
				return nil, fmt.Errorf("%s: hex outside a vector: %q", name, line)
			}
			digits.WriteString(strings.Join(strings.Fields(line), ""))
		default:
			if err := flush(); err != nil {
				return nil, err
			}
			cur = strings.TrimSpace(line)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return v, sc.Err()
}

// vector returns one vector, failing the test if it is missing.
func vector(t testing.TB, v map[string][]byte, name string) []byte {
	t.Helper()
	b, ok := v[name]
	if !ok {
		t.Fatalf("no vector %q", name)
	}
	return b
}

// feedSegmented feeds both streams to c cut into random segments (often
// one byte, sometimes whole records' worth) and interleaved at random, the
// directions out of order as reassembly may deliver them, and returns what
// Take gave for each direction with the last error of each.
func feedSegmented(c *Conn, rng *rand.Rand, client, server []byte) (out [2][]byte, errs [2]error) {
	streams := [2][]byte{client, server}
	for len(streams[0])+len(streams[1]) > 0 {
		d := Direction(rng.IntN(2))
		if len(streams[d]) == 0 {
			d = 1 - d
		}
		n := 1
		switch rng.IntN(4) {
		case 1:
			n = 1 + rng.IntN(8)
		case 2:
			n = 1 + rng.IntN(600)
		case 3:
			n = 1 + rng.IntN(4000)
		}
		n = min(n, len(streams[d]))
		if err := c.Feed(d, streams[d][:n]); err != nil {
			errs[d] = err
		}
		streams[d] = streams[d][n:]
		out[d] = append(out[d], c.Take(d)...)
	}
	for d := range out {
		out[d] = append(out[d], c.Take(Direction(d))...)
	}
	return out, errs
}
