package annotate_test

import (
	"context"
	"fmt"
	"os"

	"ftpdiag/analyze"
	"ftpdiag/annotate"
)

// ExampleWrite analyses a capture and writes it annotated for Wireshark.
func ExampleWrite() {
	in := analyze.Files("../fixtures/captures/02-nat-pasv-curl-follow-client.pcap")
	a, err := analyze.Run(context.Background(), in, analyze.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := os.CreateTemp("", "annotated-*.pcapng")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.Remove(out.Name())
	defer out.Close()
	res, err := annotate.Write(context.Background(), in, a, out, annotate.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d packets, %d with the diagnosis\n", res.Packets, res.Commented)
	// Output:
	// 21 packets, 4 with the diagnosis
}
