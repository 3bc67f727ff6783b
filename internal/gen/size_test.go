package gen

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"1048576", 1 << 20},
		{"50MB", 50e6},
		{"50mb", 50e6},
		{"1GiB", 1 << 30},
		{"1gib", 1 << 30},
		{"512k", 512 << 10},
		{"512KiB", 512 << 10},
		{"10KB", 10e3},
		{"2G", 2 << 30},
		{"1.5G", 3 << 29},
		{"0.5MiB", 1 << 19},
		{"100B", 100},
		{" 7 MB ", 7e6},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseSizeRejects(t *testing.T) {
	for _, in := range []string{"", "MB", "-5MB", "ten", "1e400", "9999999999TiB", "NaN", "5 XB"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, nil; want an error", in, got)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range []Format{FormatPcap, FormatPcapNG} {
		got, err := ParseFormat(f.String())
		if err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", f.String(), got, err, f)
		}
	}
	if _, err := ParseFormat("erf"); err == nil {
		t.Error(`ParseFormat("erf") = nil error, want one`)
	}
}
