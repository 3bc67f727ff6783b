package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestViewsFlags runs the CLI on capture pairs: a client and server pair
// is reported as two views, with or without --views; unrelated files are
// merged as before unless --views forces the comparison (which then says
// they share nothing); --no-views only merges.
func TestViewsFlags(t *testing.T) {
	const dir = "../../fixtures/captures/"
	pair := []string{dir + "02-nat-pasv-helper-curl-follow-client.pcap", dir + "02-nat-pasv-helper-curl-follow-server.pcap"}
	unrelated := []string{dir + "01-passive-vsftpd-curl-client.pcap", dir + "03-pasv-dropped-curl-server.pcap"}
	tests := []struct {
		name   string
		args   []string
		status int
		// mode is the JSON correlation's mode, "" when absent.
		mode string
		// text must (or, with a leading !, must not) be in the output.
		text []string
	}{
		{name: "pair/text", args: append([]string{"--views", "--width", "0"}, pair...), text: []string{"Two views (the same traffic captured at two places)", "Captured: 1 at the client, 2 at the server", "destination", `"227 Entering Passive Mode (172,16,40,222,117,54)."`}},
		{name: "pair/json", args: append([]string{"--views", "--format", "json"}, pair...), mode: "views"},
		{name: "pair/default", args: append([]string{"--width", "0"}, pair...), text: []string{"Two views (the same traffic captured at two places)", "destination"}},
		{name: "pair/default/json", args: append([]string{"--format", "json"}, pair...), mode: "views"},
		{name: "pair/no-views", args: append([]string{"--no-views"}, pair...), text: []string{"!Two views"}},
		{name: "pair/no-views/json", args: append([]string{"--no-views", "--format", "json"}, pair...)},
		{name: "unrelated/text", args: unrelated, text: []string{"!Two views"}},
		{name: "unrelated/json", args: append([]string{"--format", "json"}, unrelated...)},
		{name: "unrelated/forced", args: append([]string{"--views", "--format", "json"}, unrelated...), mode: "separate"},
		{name: "unrelated/forced/text", args: append([]string{"--views"}, unrelated...), text: []string{"share no packet"}},
		{name: "one file", args: append([]string{"--views"}, pair[0]), text: []string{"!Two views"}},
		{name: "views and each", args: append([]string{"--views", "--each"}, pair...), status: 2},
		{name: "views and no-views", args: append([]string{"--views", "--no-views"}, pair...), status: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(context.Background(), append([]string{"-q"}, tt.args...), strings.NewReader(""), &stdout, &stderr); got != tt.status {
				t.Fatalf("exit status %d; want %d (stderr %q)", got, tt.status, stderr.String())
			}
			if tt.status == 2 {
				return
			}
			out := stdout.String()
			if strings.Contains(strings.Join(tt.args, " "), "json") {
				var doc struct {
					Views       []json.RawMessage `json:"views"`
					Correlation *struct {
						Mode string `json:"mode"`
					} `json:"correlation"`
				}
				if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
					t.Fatalf("not JSON: %v", err)
				}
				mode := ""
				if doc.Correlation != nil {
					mode = doc.Correlation.Mode
				}
				if mode != tt.mode || (mode == "views") != (len(doc.Views) == 2) {
					t.Errorf("correlation mode %q with %d views; want %q", mode, len(doc.Views), tt.mode)
				}
			}
			for _, s := range tt.text {
				if want := !strings.HasPrefix(s, "!"); strings.Contains(out, strings.TrimPrefix(s, "!")) != want {
					t.Errorf("output contains %q: %v; want %v", strings.TrimPrefix(s, "!"), !want, want)
				}
			}
		})
	}
}

// TestViewsFitWidth: the "Two views" section, like the rest of the text
// report, fits --width 80 (it printed lines of 240 columns).
func TestViewsFitWidth(t *testing.T) {
	const dir = "../../fixtures/captures/"
	for _, pair := range [][]string{
		{dir + "02-nat-pasv-helper-curl-follow-client.pcap", dir + "02-nat-pasv-helper-curl-follow-server.pcap"},
		{dir + "03-pasv-dropped-curl-client.pcap", dir + "03-pasv-dropped-curl-server.pcap"},
	} {
		var stdout, stderr bytes.Buffer
		if got := run(context.Background(), append([]string{"-q", "--views", "--width", "80"}, pair...), strings.NewReader(""), &stdout, &stderr); got != exitFindings && got != exitOK {
			t.Fatalf("exit status %d (stderr %q)", got, stderr.String())
		}
		out := stdout.String()
		i := strings.Index(out, "Two views")
		if i < 0 {
			t.Fatalf("%s: no Two views section", pair[0])
		}
		for _, line := range strings.Split(out[i:], "\n") {
			if n := utf8.RuneCountInString(line); n > 80 && !strings.Contains(line, "Wireshark:") {
				t.Errorf("%s: a line of %d columns: %q", pair[0], n, line)
			}
		}
	}
}
