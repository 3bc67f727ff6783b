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
// Problems reading a file are not printed: the analysis reports them.
//
// The comparison is not yet the default: reports made by the service
// (ftpdiag submit) must stay the same as local ones, and its worker does
// not compare captures yet. Once it does, files that share packets can be
// compared without a flag (autoViews).
func correlateGroup(ctx context.Context, cfg *config, files []string, stdin io.Reader) *correlate.Result {
	if !cfg.views && !autoViews || cfg.noViews || len(files) < 2 || slices.Contains(files, "-") {
		return nil
	}
	r, _ := correlate.Correlate(ctx, inputsOf(files, stdin))
	if r == nil || ctx.Err() != nil || r.Mode != correlate.Views && !cfg.views {
		return nil
	}
	return r
}

// autoViews makes the comparison the default, shown when the files share
// packets (see correlateGroup).
const autoViews = false
