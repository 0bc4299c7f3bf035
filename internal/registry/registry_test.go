package registry

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestSettingsClient(t *testing.T) {
	if _, err := (Settings{Password: "x"}).Client(); err == nil || !strings.Contains(err.Error(), "user name") {
		t.Errorf("password without user: %v", err)
	}
	if _, err := (Settings{CACert: "/nonexistent/ca.pem"}).Client(); err == nil || !strings.Contains(err.Error(), "/nonexistent/ca.pem") {
		t.Errorf("missing CA file: %v", err)
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	if _, err := (Settings{CACert: notPEM}).Client(); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("not a PEM file: %v", err)
	}
	c, err := Settings{Insecure: true}.Client()
	if err != nil || !c.Insecure() || len(c.NameOptions()) != 1 {
		t.Fatalf("insecure client: %v", err)
	}
	if tr := c.Transport().(*http.Transport); !tr.TLSClientConfig.InsecureSkipVerify {
		t.Error("--insecure does not skip TLS verification")
	}
	var nilClient *Client
	if nilClient.Insecure() || nilClient.Transport() == nil || len(nilClient.Remote(context.Background())) == 0 {
		t.Error("a nil client is not the default one")
	}
}

// TestExplain: the registry's answers and the network's failures in words,
// never the raw Go map of the error details.
func TestExplain(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.Path, "/denied/"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository","Name":"denied/app","Action":"pull"}]}]}`))
		case strings.Contains(r.URL.Path, "/forbidden/"):
			w.WriteHeader(http.StatusForbidden)
		case r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"1"}}]}`))
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	get := func(repo string) error {
		ref, err := name.ParseReference(host + "/" + repo + ":1")
		if err != nil {
			t.Fatal(err)
		}
		_, err = remote.Get(ref)
		return Explain(err)
	}
	for _, tc := range []struct {
		repo   string
		status int
		want   string
	}{
		{"denied/app", 401, "401 Unauthorized (UNAUTHORIZED: authentication required): it wants credentials"},
		{"forbidden/app", 403, "403 Forbidden"},
		{"missing/app", 404, "404 Not Found (MANIFEST_UNKNOWN: manifest unknown): no such repository"},
	} {
		err := get(tc.repo)
		var te *transport.Error
		if !errors.As(err, &te) || te.StatusCode != tc.status {
			t.Errorf("%s: %v does not unwrap to the registry's %d", tc.repo, err, tc.status)
		}
		if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "map[") || !strings.Contains(err.Error(), host) {
			t.Errorf("%s: %q, want %q with the host and no Go map", tc.repo, err, tc.want)
		}
	}

	// Nothing listening: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	ref, _ := name.ParseReference(closed + "/app:1")
	_, err = remote.Get(ref)
	if err = Explain(err); !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "is the registry running") {
		t.Errorf("connection refused: %v", err)
	}

	// A TLS server whose certificate nobody vouches for.
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	_, err = (&http.Client{Transport: Default().Transport()}).Get(tlsSrv.URL + "/v2/")
	if err = Explain(err); !strings.Contains(err.Error(), "--registry-cacert") || !strings.Contains(err.Error(), "not trust") {
		t.Errorf("unknown authority: %v", err)
	}
	if Explain(nil) != nil {
		t.Error("Explain(nil) is not nil")
	}
	if e := errors.New("other"); Explain(e) != e {
		t.Error("Explain changed an error that is not a registry's")
	}
}
