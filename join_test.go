package ftpdiag

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"ftpdiag/analyze"
)

// joinedDoc is what TestJoinedViews reads of the JSON document.
type joinedDoc struct {
	Stats struct {
		Duplicates int `json:"duplicate_packets"`
	} `json:"stats"`
	Sessions []struct {
		ID     int    `json:"id"`
		Client string `json:"client"`
		Server string `json:"server"`
		Views  []struct {
			Input   int    `json:"input"`
			Client  string `json:"client"`
			Server  string `json:"server"`
			NAT     string `json:"nat"`
			Vantage struct {
				Side string `json:"side"`
			} `json:"vantage"`
		} `json:"views"`
	} `json:"sessions"`
	Findings []struct {
		Kind       string         `json:"kind"`
		Severity   string         `json:"severity"`
		Confidence string         `json:"confidence"`
		Session    int            `json:"session"`
		Summary    string         `json:"summary"`
		Evidence   map[string]any `json:"evidence"`
	} `json:"findings"`
}

// TestJoinedViews runs ftpdiag's library entry on every pair (and the
// triple) of real captures taken at the same time at different places
// (fixtures/README.md says what truly happened in each), compared as
// views, and checks: one session per real session, seen by every file;
// the translation each file's view went through; no packet counted twice;
// the root-cause finding once, told by the views that saw it, saying
// where its packets vanished (or what was rewritten on the way) and as
// sure as both views make it. Every document must match the schema.
func TestJoinedViews(t *testing.T) {
	schema := compileSchema(t)
	tests := []struct {
		scenario string
		suffixes []string
		// sessions is the number of real sessions; nat the translation of
		// each view after the first (the client's), as "nat,nat".
		sessions int
		nat      string
		// kind is the root cause, told once; seenIn the files whose
		// analysis drew it; says what its summary must say of the views;
		// confidence its confidence.
		kind, seenIn, says, confidence string
	}{
		{"02-nat-pasv-curl-follow", nil, 1, "destination", "pasv_address_mismatch", "[0 1]",
			"the client's 3 SYNs to 172.16.40.222:30004 never reached [2] (the capture at the server): lost between the two capture points", "certain"},
		{"02-nat-pasv-helper-curl-follow", nil, 1, "destination", "pasv_address_mismatch", "[1]",
			`an FTP helper) rewrote "227 Entering Passive Mode (172,16,40,222,117,54)." into "227 Entering Passive Mode (203,0,113,10,117,54)."`, "certain"},
		{"03-pasv-dropped-curl", nil, 1, "none", "data_syn_unanswered", "[0 1]",
			"the client's 3 SYNs to 203.0.113.10:30000 never reached [2] (the capture at the server): lost between the two capture points", "certain"},
		{"04-active-client-firewall-curl", nil, 1, "none", "data_syn_unanswered", "[0 1]",
			"reached both [1] (the capture at the client) and [2] (the capture at the server) and got no answer: dropped beyond the farther capture point", "certain"},
		{"05-masq-helper-port21", nil, 1, "source", "port_address_mismatch", "[0]",
			`an FTP helper) rewrote "PORT 192,168,1,10,154,171" into "PORT 198,51,100,10,154,171"`, "certain"},
		{"05-masq-helper-port2121", nil, 1, "source", "port_address_mismatch", "[0 1]",
			"reached [2] (the capture at the server) as 198.51.100.10:39902 > 203.0.113.10:2121: source NAT", "certain"},
		{"05-masq-port-promiscuous", nil, 1, "source", "port_address_mismatch", "[0 1]",
			"the server's 3 SYNs to 192.168.1.10:41845 never reached [1] (the capture at the client): lost between the two capture points", "certain"},
		{"07-tls-nat-helper-blind-curl", nil, 1, "destination", "data_syn_refused", "[0]",
			"a device between the two capture points answered the SYN itself", "certain"},
		{"10-middlebox-reset", nil, 1, "none", "data_reset", "[0 1]",
			"6 RSTs in the name of the client were never sent from its side, as [1] (the capture at the client) shows: a device between the two capture points forged them", "certain"},
		{"11-mtu-blackhole", nil, 2, "none", "mtu_blackhole", "[0 1]",
			"the server's 16 full-size segments of 1448 bytes and more never reached [1] (the capture at the client) while only small packets passed: a path MTU black hole between the two capture points", "certain"},
		{"13-timewait-reuse-ts-on", nil, 1, "none", "timewait_tuple_reuse", "[0 1]", "data connection reuses the 5-tuple", "certain"},
		{"13-timewait-reuse-ts-off", nil, 1, "none", "timewait_tuple_reuse", "[0 1]", "no SYN sent", "certain"},
		{"16-routed-dnat-pasv-address-curl", []string{"client", "router", "server"}, 1, "none,destination", "pasv_address_mismatch", "[2]",
			"reached [3] (the capture at the server) as 198.51.100.10:45170 > 172.16.40.222:21: destination NAT", "certain"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			suffixes := tt.suffixes
			if suffixes == nil {
				suffixes = []string{"client", "server"}
			}
			files := make([]string, len(suffixes))
			for i, s := range suffixes {
				files[i] = "fixtures/captures/" + tt.scenario + "-" + s + ".pcap"
			}
			doc := runViews(t, schema, files)
			if alone := duplicatesAlone(t, files); doc.Stats.Duplicates != alone {
				t.Errorf("%d duplicate packets, the files alone hold %d: the views' packets were merged", doc.Stats.Duplicates, alone)
			}
			if len(doc.Sessions) != tt.sessions {
				t.Fatalf("%d sessions; want %d", len(doc.Sessions), tt.sessions)
			}
			for _, s := range doc.Sessions {
				var inputs []int
				var natNames []string
				for i, v := range s.Views {
					inputs = append(inputs, v.Input)
					if i > 0 {
						natNames = append(natNames, v.NAT)
					}
				}
				slices.Sort(inputs)
				if want := fmt.Sprint(everyInput(len(files))); fmt.Sprint(inputs) != want {
					t.Errorf("session %d seen by inputs %v; want %s", s.ID, inputs, want)
				}
				if got := strings.Join(natNames, ","); got != tt.nat {
					t.Errorf("session %d: translations %s; want %s", s.ID, got, tt.nat)
				}
				if len(s.Views) > 0 && s.Views[0].Vantage.Side != "client" {
					t.Errorf("session %d shown as seen from %s; want the client's view", s.ID, s.Views[0].Vantage.Side)
				}
			}
			var root []int
			for i, f := range doc.Findings {
				if f.Kind == tt.kind {
					root = append(root, i)
				}
			}
			if len(root) != 1 {
				t.Fatalf("%d %s findings; want one: %+v", len(root), tt.kind, doc.Findings)
			}
			f := doc.Findings[root[0]]
			if got := fmt.Sprint(f.Evidence["seen_in"]); got != tt.seenIn {
				t.Errorf("seen_in = %s; want %s", got, tt.seenIn)
			}
			if !strings.Contains(f.Summary, tt.says) {
				t.Errorf("summary:\n  %s\nwant it to say:\n  %s", f.Summary, tt.says)
			}
			if f.Confidence != tt.confidence {
				t.Errorf("confidence %s; want %s", f.Confidence, tt.confidence)
			}
		})
	}
}

// duplicatesAlone counts the packets each file holds twice, analysed on
// its own.
func duplicatesAlone(t *testing.T, files []string) int {
	t.Helper()
	n := 0
	for _, f := range files {
		a, err := analyze.Run(context.Background(), analyze.Files(f), analyze.Options{})
		if err != nil {
			t.Fatal(err)
		}
		n += a.Stats.Duplicates
	}
	return n
}

func everyInput(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// runViews compares files as views and writes the JSON document as
// ftpdiag does, checks it against the schema and decodes it.
func runViews(t *testing.T, schema *jsonschema.Schema, files []string) joinedDoc {
	t.Helper()
	open := func(context.Context) ([]analyze.Input, func(), error) { return analyze.Files(files...), nil, nil }
	views, err := CompareViews(context.Background(), len(files), open, ViewsAuto)
	if err != nil || views == nil {
		t.Fatalf("CompareViews: %v, %v; want views", views, err)
	}
	var out bytes.Buffer
	res, err := Run(context.Background(), analyze.Files(files...), analyze.Options{}, Outputs{JSON: &JSONReport{W: &out}, Views: views})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Streamed {
		t.Error("sessions streamed; views are joined at the end")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(v); err != nil {
		t.Fatalf("document does not match the schema: %v", err)
	}
	var doc joinedDoc
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile("schema/ftpdiag-v1.schema.json")
	if err != nil {
		t.Fatalf("compiling the JSON schema: %v", err)
	}
	return s
}
