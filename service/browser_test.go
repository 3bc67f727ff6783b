package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds the browser; without one the test skips, except under
// CI=true, where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but Chromium is missing (apt-get install chromium)")
	}
	t.Skip("Chromium is missing: the browser test needs it (apt-get install chromium)")
	return ""
}

// consoleErrors collects what the page reports as errors.
type consoleErrors struct {
	mu   sync.Mutex
	msgs []string
}

func (c *consoleErrors) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, s)
}

func (c *consoleErrors) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.msgs...)
}

// firstError returns the summary of the first error finding of a report.
func firstError(t *testing.T, report []byte) string {
	t.Helper()
	var doc struct {
		Findings []struct{ Severity, Summary string }
	}
	decode(t, report, &doc)
	for _, f := range doc.Findings {
		if f.Severity == "error" {
			return f.Summary
		}
	}
	t.Fatal("the fixture has no error finding")
	return ""
}

// TestBrowser drives the page in headless Chromium: it gives the token,
// uploads a fixture through the file input, waits for the verdict, checks
// the badge and the finding, finds the capture in the list, opens the
// report, and sees no console error. Screenshots go to the test's
// artifact directory (go test -artifacts -outputdir DIR keeps them).
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	ts := startService(t, nil)
	const fixture = "03-pasv-dropped-curl-client.pcap"
	wantFinding := firstError(t, cliJSON(t, fixture))
	abs, err := filepath.Abs(filepath.Join(fixtures, fixture))
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("no-first-run", true), chromedp.WindowSize(1280, 900))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()

	errs := &consoleErrors{}
	messages := chromedp.Console(bctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// The first list request is refused until the token is
			// given: that 401 is the page's way to ask for it.
			if m.Source == "network" && strings.Contains(m.Text, "401") {
				continue
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				errs.add(fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
			}
		}
	}()

	var badge, finding, rowName, reportText string
	var report chromedp.AttributeResult
	var pageShot, phoneShot, reportShot []byte
	step := func(name string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v; console errors: %q", name, err, errs.list())
		}
	}
	dir := t.ArtifactDir()
	defer func() {
		for name, shot := range map[string][]byte{"page.png": pageShot, "page-phone.png": phoneShot, "report.png": reportShot} {
			if len(shot) > 0 {
				if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
					t.Error(err)
				}
			}
		}
		t.Logf("screenshots in %s", dir)
	}()
	step("the token", chromedp.Do(bctx,
		chromedp.Navigate(ts.base+"/"),
		chromedp.WaitVisible("#token"),
		chromedp.SendKeys("#token", acmeToken),
		chromedp.Click("#token-form button[type=submit]"),
		chromedp.WaitNotVisible("#token-dialog"),
		chromedp.WaitVisible("#recent-empty"),
	))
	step("the upload", chromedp.Do(bctx,
		chromedp.SetUploadFiles("#file", []string{abs}),
		chromedp.WaitVisible(".upload .links a.report-link"),
		chromedp.WaitVisible("#recent tbody tr td.name a"),
	))
	badge, err = chromedp.Run(bctx, chromedp.Text(".upload .badge"))
	step("the badge", err)
	finding, err = chromedp.Run(bctx, chromedp.Text(".upload .findings .finding-text"))
	step("the finding", err)
	rowName, err = chromedp.Run(bctx, chromedp.Text("#recent tbody tr td.name a"))
	step("the list", err)
	report, err = chromedp.Run(bctx, chromedp.AttributeValue(".upload .report-link", "href"))
	step("the report link", err)
	pageShot, err = chromedp.Run(bctx, chromedp.FullScreenshot(100))
	step("the screenshot", err)
	step("the phone", chromedp.Do(bctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)))
	phoneShot, err = chromedp.Run(bctx, chromedp.FullScreenshot(100))
	step("the phone screenshot", err)
	step("the report", chromedp.Do(bctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Click(".upload .report-link"),
		chromedp.WaitVisible("nav a[href='/']"),
	))
	reportText, err = chromedp.Run(bctx, chromedp.Text("body"))
	step("the report's text", err)
	reportShot, err = chromedp.Run(bctx, chromedp.FullScreenshot(100))
	step("the report's screenshot", err)

	if badge != "ERROR" {
		t.Errorf("badge %q, want ERROR", badge)
	}
	if finding != wantFinding {
		t.Errorf("finding %q, want %q", finding, wantFinding)
	}
	if rowName != fixture {
		t.Errorf("recent list's first capture %q, want %q", rowName, fixture)
	}
	if !strings.Contains(report.Value, "key=acme.") || !strings.Contains(reportText, "data_syn_unanswered") {
		t.Errorf("report at %q does not show the finding", report.Value)
	}
	if e := errs.list(); len(e) > 0 {
		b, _ := json.MarshalIndent(e, "", "  ")
		t.Errorf("console errors:\n%s", b)
	}
}
