package analyze

import "testing"

func TestReadFailureText(t *testing.T) {
	tests := []struct {
		name string
		text string
		conf Confidence
		ok   bool
	}{
		{"vsftpd/unreadable directory", "Transfer done (but failed to open directory).", Certain, true},
		{"pure-ftpd/listing cut", "Output truncated to 2000 matches", Certain, true},
		{"unknown server, failure word", "Transfer finished with errors", Possible, true},
		{"vsftpd/ok", "Transfer complete.", Certain, false},
		{"vsftpd/list ok", "Directory send OK.", Certain, false},
		{"proftpd/ok", "Transfer complete", Certain, false},
		{"pure-ftpd/ok", "File successfully transferred", Certain, false},
		{"pure-ftpd/list ok", "2 matches total", Certain, false},
		{"iis/ok", "Transfer complete.", Certain, false},
		{"filezilla/ok", "Successfully transferred \"/data.bin\"", Certain, false},
		{"wu-ftpd/ok", "Closing data connection.", Certain, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, conf, ok := readFailureText(tt.text)
			if ok != tt.ok || (ok && conf != tt.conf) {
				t.Errorf("readFailureText(%q) = %v, %v; want %v, %v", tt.text, conf, ok, tt.conf, tt.ok)
			}
		})
	}
}
