package analyze

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// everyOther returns n frames from first, every other one, so that no two
// make a range.
func everyOther(first, n int) []int {
	frames := make([]int, n)
	for i := range frames {
		frames[i] = first + 2*i
	}
	return frames
}

func TestDisplayFilter(t *testing.T) {
	ap := netip.MustParseAddrPort
	tests := []struct {
		name string
		refs Refs
		want string
	}{
		{"nothing", Refs{}, ""},
		{"one frame", Refs{ReplyFrames: []int{14}}, "frame.number == 14"},
		{"frames sorted, each once, zero left out",
			Refs{Offer: OfferRef{ID: 1, Frame: 14}, CommandFrame: 15, Frames: []int{17, 16, 0, 17}, ReplyFrames: []int{20}, ICMPFrames: []int{18}},
			"frame.number in {14..18, 20}"},
		{"at most maxFilterFrames elements", Refs{Frames: everyOther(1, 200)},
			"frame.number in {" + strings.Join(strings.Fields(strings.Trim(fmt.Sprint(everyOther(1, maxFilterFrames)), "[]")), ", ") + "}"},
		{"connection",
			Refs{Frames: []int{16}, Conn: ConnRef{ap("198.51.100.10:34206"), ap("172.16.40.222:30004")}},
			"frame.number == 16 || (ip.addr == 198.51.100.10 && ip.addr == 172.16.40.222 && tcp.port == 34206 && tcp.port == 30004)"},
		{"IPv6 connection on one host",
			Refs{Conn: ConnRef{ap("[::1]:40000"), ap("[::1]:50000")}},
			"(ipv6.addr == ::1 && tcp.port == 40000 && tcp.port == 50000)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := displayFilter(tt.refs); got != tt.want {
				t.Errorf("displayFilter(%+v) = %q; want %q", tt.refs, got, tt.want)
			}
		})
	}
}

func TestHostsPortsFilter(t *testing.T) {
	a, b := netip.MustParseAddr("198.51.100.10"), netip.MustParseAddr("203.0.113.10")
	tests := []struct {
		name  string
		ports []int
		want  string
	}{
		{"sorted, each once, runs as ranges", []int{30005, 30001, 30002, 30001, 30003},
			"(ip.addr == 198.51.100.10 && ip.addr == 203.0.113.10 && tcp.port in {30001..30003, 30005})"},
		{"50,000 scattered ports stay 64 elements", everyOther(1024, 50000),
			"(ip.addr == 198.51.100.10 && ip.addr == 203.0.113.10 && tcp.port in {" +
				strings.Join(strings.Fields(strings.Trim(fmt.Sprint(everyOther(1024, maxFilterFrames)), "[]")), ", ") + "})"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hostsPortsFilter(a, b, tt.ports); got != tt.want {
				t.Errorf("hostsPortsFilter = %q; want %q", got, tt.want)
			}
		})
	}
}
