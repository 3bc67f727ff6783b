package report

import (
	"bufio"
	"encoding/json"
	"io"

	"ftpdiag/analyze"
	"ftpdiag/pcap"
)

// WriteJSON writes an analysis as the JSON document without holding the
// whole document in memory: sessions are converted and written one at a
// time. With oneLine the document is a single line (for JSON Lines);
// otherwise it is indented by two spaces. Either way it is byte for byte
// what encoding/json makes of Build's document.
func WriteJSON(w io.Writer, infos []pcap.Info, a *analyze.Analysis, oneLine bool) error {
	doc := Build(infos, &analyze.Analysis{Stats: a.Stats, Findings: a.Findings})
	jw := &jsonWriter{w: bufio.NewWriterSize(w, 64<<10), oneLine: oneLine}
	jw.raw("{")
	jw.field(1, "schema", doc.Schema)
	jw.field(1, "inputs", doc.Inputs)
	jw.field(1, "stats", doc.Stats)
	jw.key(1, "sessions")
	if len(a.Sessions) == 0 {
		jw.raw("[]")
	} else {
		jw.raw("[")
		for i, s := range a.Sessions {
			if i > 0 {
				jw.raw(",")
			}
			jw.newline(2)
			jw.value(2, buildSession(s))
		}
		jw.newline(1)
		jw.raw("]")
	}
	jw.field(1, "findings", doc.Findings)
	jw.newline(0)
	jw.raw("}\n")
	if jw.err != nil {
		return jw.err
	}
	return jw.w.Flush()
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
	if jw.oneLine {
		return
	}
	jw.raw("\n")
	for range depth {
		jw.raw("  ")
	}
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
	if jw.oneLine {
		b, jw.err = json.Marshal(v)
	} else {
		prefix := ""
		for range depth {
			prefix += "  "
		}
		b, jw.err = json.MarshalIndent(v, prefix, "  ")
	}
	if jw.err == nil {
		_, jw.err = jw.w.Write(b)
	}
}
