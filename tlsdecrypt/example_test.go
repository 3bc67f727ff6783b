package tlsdecrypt

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"strings"
)

// A Conn is fed the two TCP streams of a connection, cut anywhere; here
// the streams of RFC 8448's TLS 1.3 trace, with its key log.
func ExampleConn() {
	f, err := os.Open("testdata/rfc8448.keylog")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	keys, err := ParseKeyLog(f)
	if err != nil {
		log.Fatal(err)
	}
	v, err := loadVectors("rfc8448-simple-1rtt.txt")
	if err != nil {
		log.Fatal(err)
	}
	client := bytes.Join([][]byte{v["client_hello_record"], v["client_finished_record"],
		v["client_application_record"], v["client_alert_record"]}, nil)
	server := bytes.Join([][]byte{v["server_hello_record"], v["server_flight_record"],
		v["server_ticket_record"], v["server_application_record"], v["server_alert_record"]}, nil)

	c := NewConn(keys)
	c.Feed(ClientToServer, client[:150]) // errors are also in Status
	c.Feed(ServerToClient, server)
	c.Feed(ClientToServer, client[150:])

	fmt.Println(keys)
	fmt.Println(c.Status())
	fmt.Printf("client sent % x ...\n", c.Take(ClientToServer)[:8])
	fmt.Printf("server sent % x ...\n", c.Take(ServerToClient)[:8])
	// Output:
	// key log: 1 connection, 0 lines skipped
	// TLS 1.3 TLS_AES_128_GCM_SHA256: decrypting
	// client sent 00 01 02 03 04 05 06 07 ...
	// server sent 00 01 02 03 04 05 06 07 ...
}

// Errors name the line and what is wrong with it, never its content.
func ExampleParseKeyLog() {
	text := "# SSL/TLS secrets log file\n" +
		"CLIENT_RANDOM 4f6b3a1c4f6b3a1c4f6b3a1c4f6b3a1c4f6b3a1c4f6b3a1c4f6b3a1c4f6b3a1c 0badc0de\n"
	_, err := ParseKeyLog(strings.NewReader(text))
	fmt.Println(err)
	// Output:
	// key log line 2: CLIENT_RANDOM: master secret is 8 hex digits, want 96 (48 bytes)
}

// Without a key log, a Conn still reads the hellos.
func ExampleNewConn_withoutKeys() {
	v, err := loadVectors("rfc8448-simple-1rtt.txt")
	if err != nil {
		log.Fatal(err)
	}
	c := NewConn(nil)
	c.Feed(ClientToServer, v["client_hello_record"])
	c.Feed(ServerToClient, v["server_hello_record"])
	st := c.Status()
	fmt.Println(st.State, VersionName(st.Version), SuiteName(st.CipherSuite))
	// Output:
	// no_keys TLS 1.3 TLS_AES_128_GCM_SHA256
}
