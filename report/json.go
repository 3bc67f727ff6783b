package report

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"

	"ftpdiag/analyze"
)

// WriteJSON writes an analysis as the JSON document. With oneLine the
// document is a single line (for JSON Lines); otherwise it is indented by
// two spaces. Either way it is byte for byte what encoding/json makes of
// Build's document. Sessions are converted one at a time; an analysis
// that hands its sessions on as it goes is written with a JSONStream.
func WriteJSON(w io.Writer, a *analyze.Analysis, oneLine bool) error {
	js := NewJSONStream(oneLine, 0)
	defer js.Close()
	js.SetSessionViews(a.Views)
	for _, s := range a.Sessions {
		js.Session(s, nil)
	}
	return js.Finish(w, a)
}

// jsonWriter writes JSON as json.MarshalIndent(v, "", "  ") would, one
// value at a time.
type jsonWriter struct {
	w       *bufio.Writer
	oneLine bool
	members int // members of the top-level object written so far
	err     error
}

func (jw *jsonWriter) raw(s string) {
	if jw.err == nil {
		_, jw.err = jw.w.WriteString(s)
	}
}

func (jw *jsonWriter) newline(depth int) {
	jw.raw(lineBreak(depth, jw.oneLine))
}

// key starts a member of the top-level object.
func (jw *jsonWriter) key(depth int, name string) {
	if jw.members > 0 {
		jw.raw(",")
	}
	jw.members++
	jw.newline(depth)
	b, _ := json.Marshal(name)
	jw.raw(string(b))
	if jw.oneLine {
		jw.raw(":")
	} else {
		jw.raw(": ")
	}
}

func (jw *jsonWriter) field(depth int, name string, v any) {
	jw.key(depth, name)
	jw.value(depth, v)
}

// value writes v as it would appear nested at depth.
func (jw *jsonWriter) value(depth int, v any) {
	if jw.err != nil {
		return
	}
	var b []byte
	b, jw.err = encodeValue(depth, v, jw.oneLine)
	if jw.err == nil {
		_, jw.err = jw.w.Write(b)
	}
}

// copy writes what r holds: text encoded beforehand.
func (jw *jsonWriter) copy(r io.Reader) {
	if jw.err == nil {
		_, jw.err = io.Copy(jw.w, r)
	}
}

// encodeValue encodes v as it appears nested at depth in the document.
func encodeValue(depth int, v any, oneLine bool) ([]byte, error) {
	if oneLine {
		return json.Marshal(v)
	}
	return json.MarshalIndent(v, strings.Repeat("  ", depth), "  ")
}

// lineBreak is the line break and indentation before a value at depth.
func lineBreak(depth int, oneLine bool) string {
	if oneLine {
		return ""
	}
	return "\n" + strings.Repeat("  ", depth)
}
