package analyze

import (
	"testing"
	"time"
)

func TestNarrowRange(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	use := func(port uint16, from, to int) portUse {
		return portUse{port: port, hold: portHold{at(from), at(to)}, used: true}
	}
	var sequential, spread, few []portUse
	for i := range 10 { // 10 quick transfers cycling through 3 ports
		sequential = append(sequential, use(uint16(30000+i%3), 2*i, 2*i+1))
	}
	for i := range 7 { // 7 transfers over 6 ports, one reused
		spread = append(spread, use(uint16(21003+i%6), 2*i, 2*i+1))
	}
	for i := range 4 {
		few = append(few, use(30000, 100*i, 100*i+1))
	}
	tests := []struct {
		name string
		uses []portUse
		want bool
	}{
		{"10 transfers through 3 ports", sequential, true},
		{"7 transfers over 6 ports", spread, false},
		{"too few announcements to tell", few, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := measureRange(tt.uses)
			l := measureLoad(tt.uses, 60*time.Second)
			if got := narrowRange(r, l, len(tt.uses)); got != tt.want {
				t.Errorf("narrowRange(%+v, %+v) = %v; want %v", r, l, got, tt.want)
			}
		})
	}
}
