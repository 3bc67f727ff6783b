package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ftpdiag/analyze"
	"ftpdiag/correlate"
)

// TestViewLadderSVGEscapes: capture text on a two-view ladder drawing is
// escaped, never markup.
func TestViewLadderSVGEscapes(t *testing.T) {
	l := &viewLadder{Title: "<b>t</b>", Heads: [4]string{"client", "[1]", "[2]", "server"}, NearName: "[1]", FarName: "[2]",
		Steps: []viewStep{{From: colServer, To: colClient, Label: "220 <script>alert(1)</script>", Note: "<img src=x>", SeenIn: -1}}}
	svg := viewLadderSVG(l, l.Steps)
	for _, bad := range []string{"<script", "<img", "<b>"} {
		if strings.Contains(svg, bad) {
			t.Errorf("drawing contains %q", bad)
		}
	}
	if !strings.Contains(svg, "&lt;script&gt;") {
		t.Error("the label is not shown, escaped")
	}
}

// TestViewLadderHTMLInBrowser renders in headless Chromium the page of a
// client and server capture pair where a middlebox forged RSTs and data
// vanished (10-middlebox-reset): the "Two views" section draws the ladder
// across the capture points, the vanished packets stopping at the
// server's point and the forged RSTs starting there, with no console
// error; a screenshot is kept under $FTPDIAG_SCREENSHOTS or a temporary
// directory. Without Chromium it skips (it fails under CI).
func TestViewLadderHTMLInBrowser(t *testing.T) {
	in := viewInputs(t, "10-middlebox-reset")
	r, err := correlate.Correlate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	a, err := analyze.Run(context.Background(), in, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, a, HTMLOptions{Views: r}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(page.String(), `class="ladder4 l4"`); n != 1 {
		t.Fatalf("%d two-view ladders on the page, want 1", n)
	}
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but chromium is not installed (.ci/run installs it)")
		}
		t.Skip("skipping: chromium is not installed (apt-get install chromium)")
	}
	dir := t.TempDir()
	htmlPath := filepath.Join(dir, "views.html")
	if err := os.WriteFile(htmlPath, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, console := headless(t, browser, htmlPath, "--dump-dom", "--window-size=1400,900")
	if console != "" {
		t.Errorf("console messages: %s", console)
	}
	_, ladder, _ := strings.Cut(dom, `class="ladder4 l4"`)
	ladder, _, _ = strings.Cut(ladder, "</svg>")
	for end, want := range map[string]int{`data-end="vanished"`: 4, `data-end="made"`: 1, `class="x4"`: 4, `class="star"`: 1} {
		if got := strings.Count(ladder, end); got != want {
			t.Errorf("rendered ladder has %d %s, want %d", got, end, want)
		}
	}
	if !strings.Contains(ladder, "forged_rst: seen at [2] only") {
		t.Error("the forged RSTs' note is not written on the ladder")
	}
	shots := os.Getenv("FTPDIAG_SCREENSHOTS")
	if shots == "" {
		shots = dir
	}
	shot := filepath.Join(shots, "views-ladder.png")
	headless(t, browser, htmlPath, "--screenshot="+shot, "--window-size=1400,3000", "--hide-scrollbars")
	if png, err := os.ReadFile(shot); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 10000 {
		t.Errorf("screenshot %s missing or empty: %v", shot, err)
	}
}

// headless runs Chromium headless on a local file and returns its
// standard output and the console messages it logged.
func headless(t *testing.T, browser, file string, args ...string) (stdout, console string) {
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
