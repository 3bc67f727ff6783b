// Package ftpdiag is the front door of the FTP data-connection diagnosis:
// one call, Run, reads packet captures and writes the reports asked for,
// as the ftpdiag command does.
//
//	res, err := ftpdiag.Run(ctx, analyze.Files("capture.pcap"), analyze.Options{},
//		ftpdiag.Outputs{JSON: &ftpdiag.JSONReport{W: os.Stdout}})
//	if err != nil {
//		log.Print(err) // res still holds everything that could be read
//	}
//
// Run opens and merges the inputs (analyze.Run), and chooses how to keep
// the analysis from the reports wanted: when the JSON document is the only
// one, each FTP session is encoded as soon as its analysis is final and
// then let go, so memory follows the sessions open at once rather than the
// length of the capture; the text and HTML reports draw on every session,
// and the analysis is then kept whole. Either way the reports are byte for
// byte those of the package report.
//
// It stands after the pipeline it drives (pcap -> ftpflow -> analyze ->
// report, extract) and before the command and the service, which are its
// clients. The second passes over the inputs (extract.ToDir for evidence
// captures, annotate.Write for the annotated capture) stay with the
// caller: Run hands back what they need (Result.Evidence, and with
// Outputs.KeepSessions the whole analysis).
package ftpdiag
