package pcap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"reflect"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// mergeInput builds a pcap whose packets have the given timestamps (in
// seconds); each packet's data names its input and frame.
func mergeInput(t *testing.T, input int, secs ...uint32) *Reader {
	t.Helper()
	b := newPcap(binary.LittleEndian, magicMicro, 0, uint32(layers.LinkTypeEthernet))
	for i, s := range secs {
		b.record(s, 0, []byte(fmt.Sprintf("in%d-f%d", input, i+1)), 60)
	}
	r, err := NewReader(bytes.NewReader(b.buf), fmt.Sprintf("in%d", input))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ref names a packet by input and frame, as merge results are compared.
type ref struct{ input, frame int }

func TestMergerOrder(t *testing.T) {
	tests := []struct {
		name   string
		inputs [][]uint32
		want   []ref
	}{
		{"interleaved three", [][]uint32{{1, 4, 7}, {2, 5, 8}, {3, 6, 9}},
			[]ref{{0, 1}, {1, 1}, {2, 1}, {0, 2}, {1, 2}, {2, 2}, {0, 3}, {1, 3}, {2, 3}}},
		{"ties go to the lower input", [][]uint32{{4, 4}, {1, 4}, {4}},
			[]ref{{1, 1}, {0, 1}, {0, 2}, {1, 2}, {2, 1}}},
		{"one input runs ahead", [][]uint32{{10, 11, 12}, {1, 2, 3}},
			[]ref{{1, 1}, {1, 2}, {1, 3}, {0, 1}, {0, 2}, {0, 3}}},
		{"file order kept within an input", [][]uint32{{5, 1, 6}, {3}},
			[]ref{{1, 1}, {0, 1}, {0, 2}, {0, 3}}},
		{"empty input", [][]uint32{{}, {2}, {}},
			[]ref{{1, 1}}},
		{"one input", [][]uint32{{3, 2, 1}},
			[]ref{{0, 1}, {0, 2}, {0, 3}}},
		{"no inputs", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rs []*Reader
			for i, secs := range tt.inputs {
				rs = append(rs, mergeInput(t, i, secs...))
			}
			m := NewMerger(rs...)
			var got []ref
			for {
				p, err := m.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if want := fmt.Sprintf("in%d-f%d", p.Input, p.Frame); string(p.Data) != want {
					t.Errorf("packet input %d frame %d has data %q, want %q", p.Input, p.Frame, p.Data, want)
				}
				got = append(got, ref{p.Input, p.Frame})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("order = %v, want %v", got, tt.want)
			}
			if _, err := m.Next(); err != io.EOF {
				t.Errorf("Next after the end = %v, want io.EOF", err)
			}
			if errs := m.Errors(); len(errs) != 0 {
				t.Errorf("Errors() = %v", errs)
			}
			for i, in := range m.Infos() {
				if !in.Complete || in.Packets != len(tt.inputs[i]) || in.Name != fmt.Sprintf("in%d", i) {
					t.Errorf("Infos()[%d] = %+v", i, in)
				}
			}
		})
	}
}

// TestMergerInputFails checks that a damaged input stops alone: the others
// go on, Errors lists the damage, Infos marks the input incomplete.
func TestMergerInputFails(t *testing.T) {
	a := mergeInput(t, 0, 1, 3, 5, 7)
	// Input 1 is cut in its third record.
	bb := newPcap(binary.LittleEndian, magicMicro, 0, uint32(layers.LinkTypeEthernet))
	bb.record(2, 0, []byte("in1-f1"), 60).record(4, 0, []byte("in1-f2"), 60).record(6, 0, []byte("in1-f3"), 60)
	b, err := NewReader(bytes.NewReader(bb.buf[:len(bb.buf)-3]), "in1")
	if err != nil {
		t.Fatal(err)
	}
	// Input 2 fails on its first record.
	cb := newPcap(binary.LittleEndian, magicMicro, 0, uint32(layers.LinkTypeEthernet)).recordLen(1, 0, 0xffffffff, 0, nil)
	c, err := NewReader(bytes.NewReader(cb.buf), "in2")
	if err != nil {
		t.Fatal(err)
	}
	m := NewMerger(a, b, c)
	got, err := readAll(t, m)
	if err != io.EOF {
		t.Fatalf("Merger error = %v, want io.EOF", err)
	}
	var refs []ref
	for _, p := range got {
		refs = append(refs, ref{p.Input, p.Frame})
	}
	if want := []ref{{0, 1}, {1, 1}, {0, 2}, {1, 2}, {0, 3}, {0, 4}}; !reflect.DeepEqual(refs, want) {
		t.Errorf("order = %v, want %v", refs, want)
	}
	var texts []string
	for _, err := range m.Errors() {
		texts = append(texts, err.Error())
	}
	wantErrs := []string{
		"in2: record 1 at offset 24: captured length 4294967295 exceeds limit 262144",
		"in1: record 3 at offset 68: truncated packet data (3 of 6 bytes)",
	}
	if !reflect.DeepEqual(texts, wantErrs) {
		t.Errorf("Errors() =\n\t%q\nwant\n\t%q", texts, wantErrs)
	}
	infos := m.Infos()
	for i, want := range []struct {
		complete bool
		packets  int
		warnings []string
	}{
		{true, 4, nil},
		{false, 2, []string{"record 3 at offset 68: truncated packet data (3 of 6 bytes)"}},
		{false, 0, []string{"record 1 at offset 24: captured length 4294967295 exceeds limit 262144"}},
	} {
		in := infos[i]
		if in.Complete != want.complete || in.Packets != want.packets || !reflect.DeepEqual(in.Warnings, want.warnings) {
			t.Errorf("Infos()[%d]: Complete %v, Packets %d, Warnings %q; want %v, %d, %q",
				i, in.Complete, in.Packets, in.Warnings, want.complete, want.packets, want.warnings)
		}
	}
}

// TestMergerOneInputFails checks the single-input path of the Merger.
func TestMergerOneInputFails(t *testing.T) {
	b := newPcap(binary.LittleEndian, magicMicro, 0, uint32(layers.LinkTypeEthernet))
	b.record(2, 0, []byte("in0-f1"), 60).record(4, 0, []byte("in0-f2"), 60)
	r, err := NewReader(bytes.NewReader(b.buf[:len(b.buf)-1]), "in0")
	if err != nil {
		t.Fatal(err)
	}
	m := NewMerger(r)
	got, err := readAll(t, m)
	if err != io.EOF || len(got) != 1 || got[0].Input != 0 || string(got[0].Data) != "in0-f1" {
		t.Fatalf("got %d packets, %v", len(got), err)
	}
	if _, err := m.Next(); err != io.EOF {
		t.Errorf("Next after the end = %v, want io.EOF", err)
	}
	want := "in0: record 2 at offset 46: truncated packet data (5 of 6 bytes)"
	if errs := m.Errors(); len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("Errors() = %v, want [%s]", errs, want)
	}
	if in := m.Infos()[0]; in.Complete || in.Packets != 1 || len(in.Warnings) != 1 {
		t.Errorf("Infos()[0] = %+v", in)
	}
}

// TestMergerDataValid merges inputs of large packets, so that advancing an
// input refills its buffer: each packet's Data must still be intact when
// Next returns it, which holds only if inputs are advanced lazily.
func TestMergerDataValid(t *testing.T) {
	const n, size = 16, 200 << 10
	fill := func(input, frame int) []byte {
		return bytes.Repeat([]byte{byte(input*16 + frame)}, size)
	}
	var rs []*Reader
	for in := range 2 {
		b := newPcap(binary.LittleEndian, magicNano, 0, uint32(layers.LinkTypeEthernet))
		for f := 1; f <= n; f++ {
			b.record(uint32(2*f+in), 0, fill(in, f), size) // alternate inputs
		}
		r, err := NewReader(bytes.NewReader(b.buf), fmt.Sprint(in))
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	m := NewMerger(rs...)
	count := 0
	for {
		p, err := m.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if want := fill(p.Input, p.Frame); !bytes.Equal(p.Data, want) {
			t.Fatalf("packet %d (input %d frame %d): Data overwritten", count, p.Input, p.Frame)
		}
		count++
	}
	if count != 2*n {
		t.Errorf("%d packets, want %d", count, 2*n)
	}
}
