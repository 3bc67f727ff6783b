package analyze

import (
	"math/rand/v2"
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

// TestHeldAtIndex: the offers the index finds held at a moment, and
// starting within a span, are those a scan of every offer finds, whatever
// the lengths of the holds (a microsecond to days) and the order the
// records arrive in; pruning keeps the index consistent.
func TestHeldAtIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Unix(1_700_000_000, 0)
	sr := newServerRecords()
	var all []*offerRecord
	for i := range 3000 {
		from := base.Add(time.Duration(rng.Int64N(int64(time.Hour))))
		length := time.Duration(rng.Int64N(int64(time.Second)))
		switch i % 10 {
		case 0:
			length = time.Duration(rng.Int64N(int64(48 * time.Hour))) // an idle session
		case 1:
			length = time.Duration(rng.Int64N(1000)) // sub-microsecond
		}
		rec := &offerRecord{session: i, frame: i, hold: portHold{from: from, to: from.Add(length)}}
		sr.add(rec)
		all = append(all, rec)
	}
	scanHeld := func(at time.Time, skip *offerRecord) map[*offerRecord]bool {
		m := map[*offerRecord]bool{}
		for _, x := range all {
			if x != skip && x.hold.from.Before(at) && x.hold.to.After(at) {
				m[x] = true
			}
		}
		return m
	}
	check := func(what string) {
		t.Helper()
		for range 300 {
			at := base.Add(time.Duration(rng.Int64N(int64(time.Hour))))
			skip := all[rng.IntN(len(all))]
			if rng.IntN(2) == 0 {
				at = skip.hold.from
			}
			want := scanHeld(at, skip)
			got := map[*offerRecord]bool{}
			sr.heldAt(at, skip, func(x *offerRecord) { got[x] = true })
			if len(got) != len(want) {
				t.Fatalf("%s: held at %v: index finds %d, a scan %d", what, at, len(got), len(want))
			}
			for x := range want {
				if !got[x] {
					t.Fatalf("%s: held at %v: index misses %+v", what, at, x.hold)
				}
			}
			to := at.Add(time.Duration(rng.Int64N(int64(time.Minute))))
			n := 0
			for _, x := range all {
				if x.hold.from.After(at) && x.hold.from.Before(to) {
					n++
				}
			}
			if got := len(startingIn(sr.offers, at, to)); got != n {
				t.Fatalf("%s: starting in (%v, %v): %d, a scan %d", what, at, to, got, n)
			}
		}
	}
	check("all")
	horizon := base.Add(30 * time.Minute)
	kept := func(x *offerRecord) bool { return !x.hold.to.Before(horizon) }
	sr.offers = keepRecords(sr.offers, kept)
	for k := range sr.byLength {
		sr.byLength[k] = keepRecords(sr.byLength[k], kept)
	}
	all = keepRecords(all, kept)
	check("pruned")
	if len(sr.sessionOffers(7)) != 1 || sr.sessionOffers(7)[0].session != 7 {
		t.Errorf("session 7's offers: %v", sr.sessionOffers(7))
	}
}
