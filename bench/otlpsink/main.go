// Command otlpsink is an OTLP/HTTP trace receiver that accepts every
// export and discards it, counting the bytes: the collector of
// bench/tracing.sh, which measures what tracing costs the gateway's own
// process (the sink runs on the load generator's core).
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"sync/atomic"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:4318", "address to listen on")
	flag.Parse()
	var n, reqs atomic.Int64
	http.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n.Add(b)
		reqs.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK) // an empty ExportTraceServiceResponse
	})
	http.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d exports, %d bytes\n", reqs.Load(), n.Load())
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
