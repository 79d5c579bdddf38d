package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The session is a signed cookie, not a server-side table: any replica
// behind a load balancer accepts it (they share the master key), and
// nothing is stored. Its value is "EXPIRY.MAC" with MAC =
// HMAC-SHA256(master key, "fulcrum-ui-session|EXPIRY"). Changing the
// master key ends every session.
const (
	cookieName = "fulcrum_ui"
	sessionTTL = 12 * time.Hour
)

func (h *Handler) mac(purpose, msg string) string {
	m := hmac.New(sha256.New, []byte(h.o.MasterKey))
	m.Write([]byte(purpose + "|" + msg))
	return hex.EncodeToString(m.Sum(nil))
}

// newSession returns a cookie value valid for sessionTTL.
func (h *Handler) newSession() string {
	exp := strconv.FormatInt(h.o.Now().Add(sessionTTL).Unix(), 10)
	return exp + "." + h.mac("fulcrum-ui-session", exp)
}

// session returns the request's valid session cookie value, or "".
func (h *Handler) session(r *http.Request) string {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return ""
	}
	exp, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return ""
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || h.o.Now().Unix() >= n {
		return ""
	}
	if !hmac.Equal([]byte(sig), []byte(h.mac("fulcrum-ui-session", exp))) {
		return ""
	}
	return c.Value
}

// csrf is the form token bound to a session: a cross-site page can neither
// read it nor compute it.
func (h *Handler) csrf(session string) string { return h.mac("fulcrum-ui-csrf", session)[:32] }

// checkPost guards a state-changing form post: a valid session, its CSRF
// token, and (when the browser sends one) an Origin of this host.
func (h *Handler) checkPost(r *http.Request) bool {
	s := h.session(r)
	if s == "" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(h.csrf(s))) == 1
}

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: value, Path: "/ui", MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		h.render(w, r, http.StatusOK, "login", page{Title: "Sign in"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	key := r.PostFormValue("key")
	if subtle.ConstantTimeCompare([]byte(key), []byte(h.o.MasterKey)) != 1 {
		h.o.Logger.Warn("ui: failed sign-in", "remote", r.RemoteAddr)
		h.render(w, r, http.StatusUnauthorized, "login", page{Title: "Sign in", Error: "That is not the master key."})
		return
	}
	h.setCookie(w, r, h.newSession(), int(sessionTTL/time.Second))
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if h.checkPost(r) {
		h.setCookie(w, r, "", -1)
	}
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}
