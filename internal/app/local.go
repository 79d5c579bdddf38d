package app

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Without a master key the gateway listens on loopback and serves anyone
// who reaches it. Loopback is not only the operator's own programs: every
// web page the operator's browser opens can reach it too. A page can POST
// to http://127.0.0.1:8080/v1/chat/completions as a "simple" cross-site
// request (Content-Type text/plain, no preflight) and spend the provider
// keys, and with DNS rebinding (its own host name answering 127.0.0.1) it
// can read the answers, /metrics and everything else. Browsers name the
// page in Origin and the name they resolved in Host; a program on the
// machine sends a loopback Host and no Origin (or a loopback one).
//
// localOnly refuses, when no master key is set, a request whose Host is
// not a loopback name or address, or whose Origin is not a loopback
// origin. With a master key every request needs a key, which a page
// cannot guess, and these checks are not made.
func localOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			refuseLocal(w, "host_not_allowed", "without a master key Fulcrum answers only requests addressed to a loopback host (localhost, 127.0.0.1, [::1]); set FULCRUM_MASTER_KEY to serve other names")
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !loopbackHost(u.Host) {
				refuseLocal(w, "origin_not_allowed", "without a master key Fulcrum refuses requests from web pages of other origins; set FULCRUM_MASTER_KEY to serve them")
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether a Host header (with or without a port)
// names this machine's loopback interface.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func refuseLocal(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusForbidden)
	// msg and code are constants: nothing of the request is echoed.
	w.Write([]byte(`{"error":{"message":"` + msg + `","type":"permission_error","param":null,"code":"` + code + `"}}` + "\n"))
}
