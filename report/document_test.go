package report

import (
	"encoding/json"
	"fmt"
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
		`"unsupported_link_packets":0,"undecoded_packets":0,"duplicate_packets":0,"icmp_too_big":0,"evicted_connections":0,` +
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
	var want []string
	for i := range v.NumField() {
		if v.Field(i).Kind() == reflect.String {
			v.Field(i).SetString(fmt.Sprint(i + 1))
		} else {
			v.Field(i).SetInt(int64(i + 1))
		}
		want = append(want, fmt.Sprint(i+1))
	}
	out := reflect.ValueOf(buildStats(in))
	var got []string
	for i := range out.NumField() {
		if f := out.Field(i); f.Kind() == reflect.String {
			got = append(got, f.String())
		} else {
			got = append(got, fmt.Sprint(f.Int()))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("buildStats carries %v of the tracker's fields %v", got, want)
	}
}
