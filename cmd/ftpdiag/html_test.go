package main

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"image"
	"image/color/palette"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ftpdiag/internal/gen"
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
		out, errOut := runReport(t, "--format", format, "--explain", p)
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
	out, _ := runCLIWant(t, exitFindings, "--format", "html", p) // its data connection failed
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
			page, _ := runReport(t, "--format", "html", c.path)
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

// browserReport is one of the reports looked at in Chromium at 1400 px.
type browserReport struct {
	name   string   // screenshot name under testdata/screenshots
	path   string   // capture
	keys   []string // what the drawings must say in text, not only in tooltips
	height int      // of the screenshot window
}

// TestHTMLReportsTellTheStory renders in headless Chromium, 1400 px wide,
// the five reports of issue 13 (a NAT failure, a healthy capture, passive
// port exhaustion, a session of 687 transfers, 100 generated sessions) and
// checks what a reader needs at a glance: the key address written on the
// timeline, every finding's ID pinned on a drawing, findings grouped by
// kind, the legend once, the ladder of a failed session open, long
// transfer tables folded, and several sessions on one time axis. It
// writes a screenshot of each, to testdata/screenshots with -update (to be
// looked at in review), else to $FTPDIAG_SCREENSHOTS or a temporary
// directory.
func TestHTMLReportsTellTheStory(t *testing.T) {
	browser := findChromium()
	if browser == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but chromium is not installed (.ci/run installs it)")
		}
		t.Skip("skipping: chromium is not installed (apt-get install chromium)")
	}
	shots := os.Getenv("FTPDIAG_SCREENSHOTS")
	switch {
	case *update:
		shots = "testdata/screenshots"
	case shots == "":
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	fixtures := filepath.Join(repoRoot, "fixtures/captures")
	reports := []browserReport{
		{"nat-pasv", filepath.Join(fixtures, "02-nat-pasv-curl-follow-client.pcap"), []string{"172.16.40.222:30004"}, 1300},
		{"healthy", filepath.Join(fixtures, "01-passive-vsftpd-curl-client.pcap"), []string{"203.0.113.10:30005", "RETR data.bin"}, 1500},
		{"port-exhaustion", filepath.Join(fixtures, "12-synthetic-pasv-in-use-425.pcap"), []string{":50000", ":50001", "425 Try later"}, 1700},
		{"687-transfers", filepath.Join(corpusDir, "zeek/cwd-navigation.pcap"), []string{"205.167.25.101", "687 transfer(s) without failure"}, 1600},
		{"100-sessions", generated(t), nil, 2000},
	}
	if _, err := os.Stat(reports[3].path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but the shared corpus is missing: %v", err)
		}
		t.Logf("skipping %s: the shared capture corpus is not beside the project", reports[3].name)
		reports = slices.Delete(reports, 3, 4)
	}
	for _, r := range reports {
		t.Run(r.name, func(t *testing.T) {
			page, _ := runReport(t, "--format", "html", r.path)
			doc, _ := runReport(t, "--format", "json", r.path)
			var d struct {
				Sessions []struct {
					ID        int
					Transfers []struct{ ID int }
				}
				Findings []struct {
					ID, Kind, Severity string
					Session            int
				}
			}
			if err := json.Unmarshal([]byte(doc), &d); err != nil {
				t.Fatal(err)
			}
			htmlPath := filepath.Join(t.TempDir(), r.name+".html")
			if err := os.WriteFile(htmlPath, []byte(page), 0o644); err != nil {
				t.Fatal(err)
			}
			dom, console := chromium(t, browser, htmlPath, "--dump-dom", "--window-size=1400,900")
			if console != "" {
				t.Errorf("console messages: %s", console)
			}
			drawn := svgText(dom)
			for _, k := range r.keys {
				if !strings.Contains(drawn, k) && !strings.Contains(dom, k) {
					t.Errorf("the page never shows %q", k)
				} else if !strings.Contains(drawn, k) && !strings.Contains(k, "transfer(s)") {
					t.Errorf("%q is not written on any drawing (tooltips do not count)", k)
				}
			}
			kinds := map[string]int{}
			for _, f := range d.Findings {
				kinds[f.Kind]++
				if f.Session != 0 && !regexp.MustCompile(`\b`+f.ID+`\b`).MatchString(drawn) {
					t.Errorf("finding %s (%s, session %d) is not marked on any drawing", f.ID, f.Kind, f.Session)
				}
			}
			for kind, n := range kinds {
				if got := strings.Count(dom, `id="kind-`+kind+`"`); got != 1 {
					t.Errorf("%d groups for the %d %s findings, want 1", got, n, kind)
				}
			}
			if n := strings.Count(dom, `class="legend"`); n != 1 && len(d.Sessions) > 0 {
				t.Errorf("the legend is shown %d times, want once", n)
			}
			if len(d.Sessions) > 1 && !strings.Contains(dom, `class="timeline overview"`) {
				t.Error("several sessions but no shared time axis")
			}
			for _, f := range d.Findings {
				if f.Severity != "error" || f.Session == 0 {
					continue
				}
				_, sess, _ := strings.Cut(dom, `id="session-`+strconv.Itoa(f.Session)+`"`)
				sess, _, _ = strings.Cut(sess, `<details class="session"`)
				if !strings.HasPrefix(sess, ` open=""`) || !strings.Contains(sess, `<details class="folded" open=""><summary>Ladder`) {
					t.Errorf("session %d has error %s but its ladder is not shown open", f.Session, f.ID)
				}
			}
			shot := filepath.Join(shots, r.name+".png")
			chromium(t, browser, htmlPath, "--screenshot="+shot, "--window-size=1400,"+strconv.Itoa(r.height), "--hide-scrollbars")
			if png, err := os.ReadFile(shot); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 10000 {
				t.Errorf("screenshot %s missing or empty: %v", shot, err)
			}
			if *update {
				shrinkPNG(t, shot)
			}
		})
	}
}

// shrinkPNG rewrites a screenshot with a 216-colour palette, best
// compressed, so that the committed ones stay small.
func shrinkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	pal := image.NewPaletted(img.Bounds(), palette.WebSafe)
	draw.Draw(pal, pal.Rect, img, img.Bounds().Min, draw.Src)
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, pal); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// generated writes, in a temporary directory, a capture of about 100 FTP
// sessions (of many kinds of failure) made by ftpdiag-gen's generator.
func generated(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "generated.pcap")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, err := gen.ParseSize("56MB")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gen.Write(f, gen.Config{Seed: 1, Size: size, FTPShare: 0.5}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// svgText returns the text the page's drawings write: their text
// elements, without hover titles, unescaped.
func svgText(dom string) string {
	var b strings.Builder
	for _, svg := range regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAllString(dom, -1) {
		svg = regexp.MustCompile(`(?s)<title>.*?</title>`).ReplaceAllString(svg, "")
		for _, m := range regexp.MustCompile(`(?s)<text[^>]*>(.*?)</text>`).FindAllStringSubmatch(svg, -1) {
			b.WriteString(html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(m[1], "")))
			b.WriteByte('\n')
		}
	}
	return b.String()
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
