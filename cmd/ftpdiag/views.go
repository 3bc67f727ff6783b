package main

import (
	"context"
	"io"
	"slices"

	"ftpdiag"
	"ftpdiag/analyze"
	"ftpdiag/correlate"
)

// correlateGroup compares the files of one analysis packet by packet as
// --views and --no-views say (ftpdiag.CompareViews: by default when the
// files' first connections show they may share packets) and returns what
// the report shows. Standard input, which cannot be read twice, is never
// compared. The error, only with --views, joins the problems that left a
// file out of the comparison: the report does not show them, so the
// caller prints them.
func correlateGroup(ctx context.Context, cfg *config, files []string, stdin io.Reader) (*correlate.Result, error) {
	mode := ftpdiag.ViewsAuto
	switch {
	case cfg.noViews || slices.Contains(files, "-"):
		mode = ftpdiag.ViewsNever
	case cfg.views:
		mode = ftpdiag.ViewsAlways
	}
	open := func(context.Context) ([]analyze.Input, func(), error) { return inputsOf(files, stdin), nil, nil }
	return ftpdiag.CompareViews(ctx, len(files), open, mode)
}
