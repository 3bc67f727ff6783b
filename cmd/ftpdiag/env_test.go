package main

import (
	"os"
	"testing"
)

// TestMain clears COLUMNS, which the text report honours before the
// terminal's width: the goldens and the comparisons with the service are
// written at report.DefaultWidth whatever the shell running the tests set.
func TestMain(m *testing.M) {
	os.Unsetenv("COLUMNS")
	os.Exit(m.Run())
}
