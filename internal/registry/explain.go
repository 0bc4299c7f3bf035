package registry

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// explained is a registry error said in words; it still unwraps to the
// original error, so callers can test for a transport.Error's status.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// Explain says a registry error in words and adds what to do: an HTTP
// status with the registry's own error codes (instead of the raw Go map of
// their details), an untrusted certificate, a registry that does not
// answer. Other errors are returned as they are.
func Explain(err error) error {
	var done *explained
	if err == nil || errors.As(err, &done) {
		return err
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return &explained{msg: explainStatus(te), err: err}
	}
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var dns *net.DNSError
	s := err.Error()
	switch {
	case errors.As(err, &ua), strings.Contains(s, "certificate signed by unknown authority"):
		return &explained{msg: fmt.Sprintf("the registry's TLS certificate is signed by an authority this machine does not trust (%s): trust it with --registry-cacert FILE, or use --insecure", lastPart(s)), err: err}
	case errors.As(err, &hn):
		return &explained{msg: fmt.Sprintf("the registry's TLS certificate is not for this host name (%s)", lastPart(s)), err: err}
	case strings.Contains(s, "server gave HTTP response to HTTPS client"):
		return &explained{msg: fmt.Sprintf("the registry speaks plain HTTP, not HTTPS (%s): a plain-HTTP registry needs --insecure unless it is on localhost or 127.0.0.1", urlOf(s)), err: err}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &explained{msg: fmt.Sprintf("nothing answers at the registry's address (connection refused: %s): is the registry running, and reachable at that host:port?", urlOf(s)), err: err}
	case errors.As(err, &dns):
		return &explained{msg: fmt.Sprintf("the registry host %q cannot be found (DNS): check the spelling of the reference", dns.Name), err: err}
	case errors.Is(err, syscall.ETIMEDOUT), strings.Contains(s, "i/o timeout"):
		return &explained{msg: fmt.Sprintf("the registry did not answer in time (%s): is it reachable from here?", urlOf(s)), err: err}
	}
	return err
}

// explainStatus says a registry's HTTP error answer in words.
func explainStatus(te *transport.Error) string {
	what := "the registry"
	if te.Request != nil && te.Request.URL != nil {
		what = fmt.Sprintf("the registry %s (%s %s)", te.Request.URL.Host, te.Request.Method, te.Request.URL.Path)
	}
	var codes []string
	for _, d := range te.Errors {
		c := string(d.Code)
		if d.Message != "" {
			c += ": " + d.Message
		}
		codes = append(codes, c)
	}
	said := fmt.Sprintf("%d %s", te.StatusCode, http.StatusText(te.StatusCode))
	raw := ""
	if len(codes) > 0 {
		said += " (" + strings.Join(codes, "; ") + ")"
	} else {
		// The body the registry sent, which is not the spec's error JSON.
		_, raw, _ = strings.Cut(te.Error(), said)
		raw = strings.TrimSpace(strings.TrimPrefix(raw, ":"))
	}
	switch {
	case te.StatusCode == http.StatusBadRequest && strings.Contains(raw, "HTTP request to an HTTPS server"):
		return fmt.Sprintf("%s speaks HTTPS, but the TLS connection failed, usually because its certificate is not trusted here (plain HTTP was tried next and refused): trust its CA with --registry-cacert FILE, or use --insecure", what)
	case raw != "":
		said += ": " + raw
	}
	switch te.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Sprintf("%s answered %s: it wants credentials, or refused the ones given; log in with 'docker login', or give --registry-username and --registry-password (or BULWARK_REGISTRY_PASSWORD)", what, said)
	case http.StatusForbidden:
		return fmt.Sprintf("%s answered %s: the credentials are valid but not allowed to do this on the repository", what, said)
	case http.StatusNotFound:
		return fmt.Sprintf("%s answered %s: no such repository, tag or digest there; check the reference", what, said)
	case http.StatusTooManyRequests:
		return fmt.Sprintf("%s answered %s: rate limited; log in to raise the limit, or try again later", what, said)
	}
	return fmt.Sprintf("%s answered %s", what, said)
}

// urlOf picks the URL out of a net/http error message ("Get \"URL\": ...").
func urlOf(s string) string {
	if i := strings.IndexByte(s, '"'); i >= 0 {
		if j := strings.IndexByte(s[i+1:], '"'); j >= 0 {
			return s[i+1 : i+1+j]
		}
	}
	return lastPart(s)
}

// lastPart is the innermost part of a wrapped error message.
func lastPart(s string) string {
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}
