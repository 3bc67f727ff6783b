// Package report writes ftpdiag's analysis for people and programs: the
// last stage of the pipeline (capture -> packets -> sessions -> findings ->
// report).
//
// Build makes the JSON document (schema ftpdiag/v1, in schema/ at the
// root of the repository); WriteJSON streams it session by session;
// WriteText writes the terminal report with go-pretty tables and, on
// request, a ladder diagram per session (BuildTimeline, WriteLadders);
// WriteHTML writes one self-contained page with an SVG timeline per session.
// Every text that comes from a capture goes through Clean, so no control
// character, escape sequence or invalid UTF-8 reaches the reader.
//
// The document's types (Document, Stats, Session...) are the report's own,
// built from the analysis: no ftpflow or pcap type is serialised directly,
// so the schema changes only when this package changes it. The golden files
// under testdata/golden hold every format for a few fixtures
// (go test ./report -update rewrites them).
package report
