//go:build !unix

package store

// diskSpace is unknown here: only JetStream's own limit applies.
func diskSpace(string) (free, total int64, err error) { return 0, 0, nil }
