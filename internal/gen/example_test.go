package gen_test

import (
	"fmt"
	"io"

	"ftpdiag/internal/gen"
)

func ExampleWrite() {
	st, err := gen.Write(io.Discard, gen.Config{Seed: 1, Size: 4 << 20, Format: gen.FormatPcapNG})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("within 3% of 4 MiB:", st.Bytes <= 4<<20 && st.Bytes > 4<<20*97/100)
	fmt.Println("has FTP transfers:", st.TotalTransfers() > 0)
	// Output:
	// within 3% of 4 MiB: true
	// has FTP transfers: true
}
