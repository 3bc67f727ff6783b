package report

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"ftpdiag/ftpflow"
)

// TestStatsJSON pins the statistics' JSON names and order (schema
// ftpdiag/v1): they belong to the report, whatever the tracker calls its
// counters.
func TestStatsJSON(t *testing.T) {
	got, err := json.Marshal(Stats{})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"packets":0,"tcp_packets":0,"tcp_connections":0,"ip_fragments":0,"malformed_packets":0,` +
		`"unsupported_link_packets":0,"duplicate_packets":0,"icmp_too_big":0,"evicted_connections":0,` +
		`"dropped_sessions":0,"dropped_offers":0,"truncated_payload_packets":0,"backward_timestamps":0}`
	if string(got) != want {
		t.Errorf("json.Marshal(Stats{}) = %s\nwant %s", got, want)
	}
}

// TestBuildStatsCarriesEveryCounter: each counter of ftpflow.Stats reaches
// the report, so a counter added to the tracker is not silently left out
// of the document.
func TestBuildStatsCarriesEveryCounter(t *testing.T) {
	var in ftpflow.Stats
	v := reflect.ValueOf(&in).Elem()
	var want []int
	for i := range v.NumField() {
		v.Field(i).SetInt(int64(i + 1))
		want = append(want, i+1)
	}
	out := reflect.ValueOf(buildStats(in))
	var got []int
	for i := range out.NumField() {
		got = append(got, int(out.Field(i).Int()))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("buildStats carries %v of the tracker's counters 1..%d", got, len(want))
	}
}
