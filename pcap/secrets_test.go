package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// dsb appends a Decryption Secrets Block of secrets type typ; length is
// the Secrets Length field written, -1 for len(secrets).
func (b *ngBuilder) dsb(typ uint32, secrets []byte, length int) *ngBuilder {
	if length < 0 {
		length = len(secrets)
	}
	var body []byte
	body = b.order.AppendUint32(body, typ)
	body = b.order.AppendUint32(body, uint32(length))
	body = append(body, secrets...)
	return b.block(blockDSB, body)
}

// readSecrets reads every packet of data with OnSecrets set, and returns
// the secrets met, each with the number of packets read before it, and
// the reader's warnings.
func readSecrets(t *testing.T, data []byte) (got []Secrets, before []int, warnings []string, err error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), "test.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	packets := 0
	r.OnSecrets(func(s Secrets) {
		got = append(got, s)
		before = append(before, packets)
	})
	for {
		if _, err = r.Next(); err != nil {
			break
		}
		packets++
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return got, before, r.Info().Warnings, err
}

// TestOnSecrets: the Decryption Secrets Blocks of a pcapng come to
// OnSecrets before the packets that follow them, in either byte order,
// without their padding, whatever their secrets type; a block whose
// secrets length exceeds it is skipped with a warning, and so are blocks
// beyond maxSecretsLen in all.
func TestOnSecrets(t *testing.T) {
	keys := []byte("CLIENT_RANDOM 00 11\n") // 20 bytes: no padding
	odd := []byte("# 5 bytes")              // padded to 12
	big := bytes.Repeat([]byte("x"), 3*secretsPiece+7)
	tests := []struct {
		name     string
		build    func(order byteOrder) *ngBuilder
		want     []Secrets // Offset not compared
		before   []int
		warnings string
	}{
		{
			name: "before the packets they precede",
			build: func(order byteOrder) *ngBuilder {
				b := newNG(order).idb(layers.LinkTypeEthernet, 0)
				b.dsb(SecretsTLSKeyLog, keys, -1)
				b.epb(0, 1, testPayload(1, 60), 60)
				b.dsb(0x57474b4c, odd, -1) // WireGuard's type: passed on too
				return b.epb(0, 2, testPayload(2, 60), 60)
			},
			want:   []Secrets{{Type: SecretsTLSKeyLog, Data: keys}, {Type: 0x57474b4c, Data: odd}},
			before: []int{0, 1},
		},
		{
			name: "larger than a piece of the read buffer",
			build: func(order byteOrder) *ngBuilder {
				return newNG(order).idb(layers.LinkTypeEthernet, 0).dsb(SecretsTLSKeyLog, big, -1).epb(0, 1, testPayload(1, 60), 60)
			},
			want:   []Secrets{{Type: SecretsTLSKeyLog, Data: big}},
			before: []int{0},
		},
		{
			name: "secrets length beyond the block",
			build: func(order byteOrder) *ngBuilder {
				return newNG(order).idb(layers.LinkTypeEthernet, 0).dsb(SecretsTLSKeyLog, keys, len(keys)+1).epb(0, 1, testPayload(1, 60), 60).dsb(SecretsTLSKeyLog, keys, -1)
			},
			want:     []Secrets{{Type: SecretsTLSKeyLog, Data: keys}},
			before:   []int{1},
			warnings: "decryption secrets block skipped: its secrets length exceeds the block",
		},
	}
	for _, tt := range tests {
		for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
			t.Run(tt.name+"/"+order.String(), func(t *testing.T) {
				got, before, warnings, err := readSecrets(t, tt.build(order).buf)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("%d secrets blocks, want %d", len(got), len(tt.want))
				}
				for i := range got {
					if got[i].Type != tt.want[i].Type || !bytes.Equal(got[i].Data, tt.want[i].Data) || before[i] != tt.before[i] {
						t.Errorf("block %d: type %#x, %d bytes after %d packets; want type %#x, %d bytes after %d packets",
							i, got[i].Type, len(got[i].Data), before[i], tt.want[i].Type, len(tt.want[i].Data), tt.before[i])
					}
				}
				if w := strings.Join(warnings, "; "); !strings.Contains(w, tt.warnings) || (tt.warnings == "") != (w == "") {
					t.Errorf("warnings %q, want %q", w, tt.warnings)
				}
			})
		}
	}
}

// TestOnSecretsOffsetAndBound: a block's Offset is where it begins, and
// past maxSecretsLen bytes of blocks the next ones are skipped with a
// warning while the packets are still read.
func TestOnSecretsOffsetAndBound(t *testing.T) {
	b := newNG(binary.LittleEndian).idb(layers.LinkTypeEthernet, 0)
	at := len(b.buf)
	chunk := bytes.Repeat([]byte("k"), maxSecretsLen/2)
	b.dsb(SecretsTLSKeyLog, chunk, -1).dsb(SecretsTLSKeyLog, chunk, -1).epb(0, 1, testPayload(1, 60), 60)
	got, _, warnings, err := readSecrets(t, b.buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Offset != int64(at) {
		t.Fatalf("%d blocks (first at offset %d), want 1 at offset %d", len(got), got[0].Offset, at)
	}
	if w := strings.Join(warnings, "; "); !strings.Contains(w, "more than 16 MiB of secrets") {
		t.Errorf("warnings %q, want the bound's", w)
	}
}

// TestOnSecretsDamage: a secrets block cut short or whose trailing length
// disagrees is damage named after the block, as for any other block;
// without OnSecrets the same file reads as before.
func TestOnSecretsDamage(t *testing.T) {
	b := newNG(binary.LittleEndian).idb(layers.LinkTypeEthernet, 0).epb(0, 1, testPayload(1, 60), 60)
	start := len(b.buf)
	b.dsb(SecretsTLSKeyLog, []byte("CLIENT_RANDOM 00 11\n"), -1)
	cut := b.buf[:len(b.buf)-6]
	_, _, _, err := readSecrets(t, cut)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Offset != int64(start) || !strings.Contains(err.Error(), "decryption secrets block") {
		t.Errorf("cut block: error %v, want one about the decryption secrets block at offset %d", err, start)
	}
	bad := bytes.Clone(b.buf)
	binary.LittleEndian.PutUint32(bad[len(bad)-4:], 999)
	if _, _, _, err := readSecrets(t, bad); !errors.As(err, &fe) || !strings.Contains(err.Error(), "trailing block length 999") {
		t.Errorf("bad trailer: error %v", err)
	}
}
