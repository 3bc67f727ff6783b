package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ftpdiag/internal/simtrace"
)

// hostileSession is a session whose every text is an attack: script tags
// in the user name and file name, a terminal escape sequence, a bidi
// override, invalid UTF-8 and a NUL.
func hostileSession() *simtrace.Trace {
	tr := simtrace.New()
	c := tr.Conv("198.51.100.10:40000", "203.0.113.5:21").Open()
	c.Say(simtrace.Server, "220 <img src=x onerror=alert(1)>\x1b[2J\r\n")
	c.Say(simtrace.Client, "USER <script>alert('u')</script>\r\n")
	c.Say(simtrace.Server, "331 ok\r\n")
	c.Say(simtrace.Client, "PASS s3cr3t-password\r\n")
	c.Say(simtrace.Server, "230 ok\r\n")
	c.Say(simtrace.Client, "PASV\r\n")
	c.Say(simtrace.Server, "227 Entering Passive Mode (203,0,113,5,195,80).\r\n")
	c.Say(simtrace.Client, "RETR \x1b]0;pwned\x07\u202egnp.exe\xff\x00</pre><script>x()</script>\r\n")
	d := tr.Conv("198.51.100.10:41000", "203.0.113.5:50000")
	d.Packet(simtrace.Client, "S", "")
	tr.Wait(3 * time.Second)
	c.Say(simtrace.Server, "425 <b>no</b>\r\n")
	return tr
}

// TestHostileTextIsEscaped checks every output format against injection:
// no markup from the capture in HTML, no control character or bidi
// override in the terminal report, valid UTF-8 JSON, and no password.
func TestHostileTextIsEscaped(t *testing.T) {
	dir := t.TempDir()
	p := writeTrace(t, dir, "hostile.pcap", hostileSession())
	for _, format := range []string{"text", "json", "html"} {
		out, errOut, _ := runCLI(t, "--format", format, "--explain", p)
		if errOut != "" {
			t.Errorf("%s: stderr %q", format, errOut)
		}
		bads := []string{"\x1b", "\x07", "\u202e", "\x00", "s3cr3t"}
		if format != "text" { // markup is harmless on a terminal
			bads = append(bads, "<script>", "<img", "<b>")
		}
		for _, bad := range bads {
			if strings.Contains(out, bad) {
				t.Errorf("%s output contains %q", format, bad)
			}
		}
		if !strings.Contains(out, `\u202e`) && format != "html" {
			t.Errorf("%s: the bidi override is not shown escaped", format)
		}
		if format == "html" && !strings.Contains(out, "&lt;script&gt;") {
			t.Errorf("html: the user name is not shown, escaped")
		}
	}
}

// TestHTMLStructure checks the page is self-contained and draws one lane
// per connection.
func TestHTMLStructure(t *testing.T) {
	dir := t.TempDir()
	p := writeTrace(t, dir, "failed.pcap", failedSession())
	out, _, _ := runCLI(t, "--format", "html", p)
	for _, want := range []string{"Content-Security-Policy", `class="lane control"`, `class="lane data failed"`, "data_syn_unanswered", "Wireshark:"} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://", "@import", "url("} {
		if strings.Contains(strings.ReplaceAll(out, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("page is not self-contained: contains %q", bad)
		}
	}
}

// TestHTMLInBrowser renders reports of real fixtures in headless Chromium:
// no console error, the SVG drawn with its lanes, and a screenshot kept
// under the test's temporary directory (or $FTPDIAG_SCREENSHOTS).
func TestHTMLInBrowser(t *testing.T) {
	browser := findChromium()
	if browser == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but chromium is not installed (.ci/run installs it)")
		}
		t.Skip("skipping: chromium is not installed (apt-get install chromium)")
	}
	shots := os.Getenv("FTPDIAG_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		path  string
		lanes int // data lanes expected
	}{
		{"failed", writeTrace(t, t.TempDir(), "failed.pcap", failedSession()), 1},
	}
	for _, name := range []string{"02-nat-pasv-curl-follow-client.pcap", "11-mtu-blackhole-server.pcap", "01-passive-pureftpd-ftplib-client.pcap"} {
		f := filepath.Join(repoRoot, "fixtures/captures", name)
		if _, err := os.Stat(f); err == nil {
			cases = append(cases, struct {
				name  string
				path  string
				lanes int
			}{strings.TrimSuffix(filepath.Base(f), ".pcap"), f, -1})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			page, _, _ := runCLI(t, "--format", "html", c.path)
			htmlPath := filepath.Join(t.TempDir(), c.name+".html")
			if err := os.WriteFile(htmlPath, []byte(page), 0o644); err != nil {
				t.Fatal(err)
			}
			dom, console := chromium(t, browser, htmlPath, "--dump-dom")
			if !strings.Contains(dom, "<svg") || !strings.Contains(dom, `class="lane control"`) {
				t.Fatalf("rendered page has no SVG timeline")
			}
			drawn := regexp.MustCompile(`class="lane data`).FindAllString(dom, -1)
			if c.lanes >= 0 && len(drawn) != c.lanes {
				t.Errorf("%d data lanes drawn, want %d", len(drawn), c.lanes)
			}
			if strings.Contains(page, "class=\"lane data") && len(drawn) == 0 {
				t.Error("data lanes lost in rendering")
			}
			if console != "" {
				t.Errorf("console messages: %s", console)
			}
			shot := filepath.Join(shots, c.name+".png")
			chromium(t, browser, htmlPath, "--screenshot="+shot, "--window-size=1240,1600", "--hide-scrollbars")
			if png, err := os.ReadFile(shot); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 10000 {
				t.Errorf("screenshot %s missing or empty: %v", shot, err)
			}
		})
	}
}

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// chromium runs the browser headless on a local file and returns its
// standard output and the console messages it logged.
func chromium(t *testing.T, browser, file string, args ...string) (stdout, console string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	cmd := exec.CommandContext(ctx, browser, append(append(base, args...), "file://"+file)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, errb.String())
	}
	var msgs []string
	for _, line := range strings.Split(errb.String(), "\n") {
		if strings.Contains(line, "CONSOLE") || strings.Contains(line, "Content Security Policy") || strings.Contains(line, "Uncaught") {
			msgs = append(msgs, line)
		}
	}
	return out.String(), strings.Join(msgs, "\n")
}
