package analyze

// Finding is one diagnosis: what went wrong (or is worth knowing), the
// evidence for it, and what to do about it.
type Finding struct {
	ID       string
	Kind     string
	Severity Severity
	// Session and Transfer are the IDs the finding belongs to (0: none).
	Session, Transfer int
	Summary           string
	Explanation       string
	Remediation       string
	Evidence          map[string]any
	// Filter is a Wireshark display filter that shows the evidence.
	Filter string
}

// Severity ranks findings.
type Severity uint8

// The severities, from least to most serious.
const (
	Info Severity = iota
	Warning
	Error
)

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "info"
}

// MarshalText spells the severity as String does.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
