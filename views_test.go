package ftpdiag

import (
	"context"
	"errors"
	"testing"

	"ftpdiag/analyze"
)

// TestCompareViews checks when CompareViews compares and what it keeps,
// and that it reads the inputs through the opener, closing each reading.
func TestCompareViews(t *testing.T) {
	const dir = "fixtures/captures/"
	pair := []string{dir + "02-nat-pasv-curl-follow-client.pcap", dir + "02-nat-pasv-curl-follow-server.pcap"}
	unrelated := []string{dir + "01-passive-vsftpd-curl-client.pcap", dir + "03-pasv-dropped-curl-server.pcap"}
	tests := []struct {
		name  string
		files []string
		mode  ViewsMode
		// want is the comparison's mode, "" for none; opens the readings.
		want    string
		opens   int
		wantErr bool
	}{
		{"pair, auto", pair, ViewsAuto, "views", 2, false},
		{"pair, always", pair, ViewsAlways, "views", 1, false},
		{"pair, never", pair, ViewsNever, "", 0, false},
		{"unrelated, auto", unrelated, ViewsAuto, "", 1, false},
		{"unrelated, always", unrelated, ViewsAlways, "separate", 1, false},
		{"one file", pair[:1], ViewsAlways, "", 0, false},
		{"too many for auto", manyOf(pair, MaxAutoViews+1), ViewsAuto, "", 0, false},
		{"missing file, auto", []string{pair[0], dir + "missing.pcap"}, ViewsAuto, "", 1, false},
		{"missing file, always", []string{pair[0], dir + "missing.pcap"}, ViewsAlways, "separate", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opens, closes := 0, 0
			open := func(context.Context) ([]analyze.Input, func(), error) {
				opens++
				return analyze.Files(tt.files...), func() { closes++ }, nil
			}
			r, err := CompareViews(context.Background(), len(tt.files), open, tt.mode)
			got := ""
			if r != nil {
				got = r.Mode.String()
			}
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("CompareViews: mode %q, err %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
			if opens != tt.opens || closes != opens {
				t.Errorf("opened %d times, closed %d; want %d", opens, closes, tt.opens)
			}
		})
	}
}

// TestCompareViewsOpenError: an opener that fails is the comparison's
// error when asked for, and no comparison in ViewsAuto.
func TestCompareViewsOpenError(t *testing.T) {
	bad := errors.New("object store unavailable")
	open := func(context.Context) ([]analyze.Input, func(), error) { return nil, nil, bad }
	for _, mode := range []ViewsMode{ViewsAuto, ViewsAlways} {
		r, err := CompareViews(context.Background(), 2, open, mode)
		if r != nil || (mode == ViewsAlways) != errors.Is(err, bad) {
			t.Errorf("mode %d: %v, %v", mode, r, err)
		}
	}
}

// manyOf repeats names to n of them.
func manyOf(names []string, n int) []string {
	var out []string
	for len(out) < n {
		out = append(out, names...)
	}
	return out[:n]
}
