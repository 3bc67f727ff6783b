package main

import (
	"context"
	"io"
	"slices"

	"ftpdiag/correlate"
)

// correlateGroup compares the files of one analysis packet by packet
// (package correlate) when --views asks for it, and returns what the
// report shows: nil without --views (or with --no-views), with fewer than
// two files or with standard input (which cannot be read twice).
//
// The error joins the problems that left a file out of the comparison,
// or cut it short: the report does not show them, so the caller prints
// them. It is nil when --views was not given or ctx is done.
//
// The comparison is not yet the default: on files that share nothing
// (ring-buffer pieces) it costs three times the analysis's time and holds
// every packet's fingerprint (measured: two unrelated 200 MiB files, 0.36 s
// and 37 MB merged, 1.17 s and 77 MB compared). It needs a cheap first
// look (the initial sequence numbers of the first SYNs) before it can run
// without a flag (autoViews); the service's worker would then compare the
// files of one upload the same way.
func correlateGroup(ctx context.Context, cfg *config, files []string, stdin io.Reader) (*correlate.Result, error) {
	if !cfg.views && !autoViews || cfg.noViews || len(files) < 2 || slices.Contains(files, "-") {
		return nil, nil
	}
	r, err := correlate.Correlate(ctx, inputsOf(files, stdin))
	if ctx.Err() != nil {
		return nil, nil // interrupted: the analysis says so, and no comparison is shown
	}
	if !cfg.views {
		// A comparison nobody asked for is shown only when the files
		// share packets; its problems are the analysis's to tell.
		if r == nil || r.Mode != correlate.Views {
			return nil, nil
		}
		return r, nil
	}
	return r, err
}

// autoViews makes the comparison the default, shown when the files share
// packets (see correlateGroup).
const autoViews = false
