package update

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // only to check GCS's x-goog-hash, not for security
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bulwark-sec/bulwark/internal/progress"
)

// SourceError says which source of an update failed and what to try.
type SourceError struct {
	// Source names the source ("osv PyPI", "nvd", or a repository).
	Source string
	// URL is where it was downloaded from, when Source does not say.
	URL string
	Err error
}

func (e *SourceError) Error() string {
	hint := "check the network and proxy settings, or try again later"
	var pe *permanentError
	switch {
	case errors.As(e.Err, &pe) && pe.hint != "":
		hint = pe.hint
	case errors.Is(e.Err, errStalled):
		hint = "the server stopped sending data; try again later, or raise --timeout (scan: --db-timeout)"
	case errors.Is(e.Err, errDigest):
		hint = "the download was damaged on the way; try again"
	}
	where := e.Source
	if e.URL != "" {
		where += " (" + e.URL + ")"
	}
	return fmt.Sprintf("%s: %v; %s", where, e.Err, hint)
}

func (e *SourceError) Unwrap() error { return e.Err }

var (
	errStalled = errors.New("download stalled")
	errDigest  = errors.New("digest mismatch")
)

// unreachable says whether err means the host cannot be reached at all
// (its name does not resolve, or nothing listens): on a machine without
// network, retrying only makes the user wait.
func unreachable(err error) bool {
	var dns *net.DNSError
	return errors.As(err, &dns) && dns.IsNotFound || errors.Is(err, syscall.ECONNREFUSED)
}

// permanentError is a failure that retrying will not fix.
type permanentError struct {
	err  error
	hint string
}

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Content kinds a download is checked against.
const (
	kindZip  = "zip"
	kindJSON = "json"
	kindCSV  = "csv"
	kindAny  = "any"
)

// fetcher downloads files with retries, a stall timeout, size and digest
// checks, and a progress bar on a terminal.
type fetcher struct {
	client   *http.Client
	retries  int
	backoff  time.Duration
	stall    time.Duration
	progress io.Writer
	header   http.Header
}

// fetch downloads url into the file dst, retrying transient failures.
// validate, when not nil, checks the downloaded file; a file it rejects
// counts as damaged and is downloaded again.
func (f *fetcher) fetch(ctx context.Context, source, url, dst, kind string, validate func(string) error) error {
	var err error
	delay := f.backoff
	for attempt := 0; attempt <= f.retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return &SourceError{source, url, ctx.Err()}
			case <-time.After(delay):
			}
			delay *= 2
		}
		err = f.once(ctx, source, url, dst, kind)
		if err == nil && validate != nil {
			if verr := validate(dst); verr != nil {
				err = fmt.Errorf("%w: the downloaded file is damaged: %v", errDigest, verr)
			}
		}
		var pe *permanentError
		if err == nil || errors.As(err, &pe) || unreachable(err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return &SourceError{source, url, err}
	}
	return nil
}

func (f *fetcher) once(ctx context.Context, source, url, dst, kind string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return &permanentError{err, "check the URL"}
	}
	for k, v := range f.header {
		req.Header[k] = v
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if c := context.Cause(ctx); errors.Is(c, errStalled) {
			return c
		}
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("server answered %s", resp.Status)
	case resp.StatusCode == http.StatusNotFound:
		return &permanentError{fmt.Errorf("server answered %s", resp.Status), "check the URL (and the ecosystem name, for OSV)"}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return &permanentError{fmt.Errorf("server answered %s", resp.Status), "check the credentials or API key for this source"}
	default:
		return &permanentError{fmt.Errorf("server answered %s", resp.Status), "check the URL"}
	}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/html") && kind != kindAny {
		return &permanentError{fmt.Errorf("the server sent an HTML page (%s) instead of %s data", ct, kind), "a proxy, captive portal or wrong URL answered; check the URL and proxy settings"}
	}

	out, err := os.Create(dst)
	if err != nil {
		return &permanentError{err, "check that the database directory is writable"}
	}
	defer out.Close()

	body := &watchReader{r: resp.Body, touch: watchdog(ctx, cancel, f.stall)}

	md5h, crch := md5.New(), crc32.New(crc32.MakeTable(crc32.Castagnoli)) //nolint:gosec
	sniff := &headBuffer{max: 512}
	w := io.MultiWriter(out, md5h, crch, sniff)
	if f.progress != nil {
		bar := progress.Bytes(f.progress, resp.ContentLength, source)
		defer bar.Close()
		w = io.MultiWriter(w, bar)
	}
	n, err := io.Copy(w, body)
	if err != nil {
		if c := context.Cause(ctx); errors.Is(c, errStalled) {
			return c
		}
		return fmt.Errorf("download cut off after %d bytes: %w", n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("download cut off: got %d of %d bytes", n, resp.ContentLength)
	}
	if err := checkGoogHash(resp.Header.Values("X-Goog-Hash"), md5h, crch); err != nil {
		return err
	}
	if err := checkKind(sniff.b, kind); err != nil {
		return err
	}
	return out.Close()
}

// checkGoogHash verifies the digests Google Cloud Storage (the OSV bucket)
// sends in x-goog-hash: "crc32c=BASE64" and, for simple objects, "md5=BASE64".
func checkGoogHash(values []string, md5h, crch hash.Hash) error {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			alg, want, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				continue
			}
			var got []byte
			switch alg {
			case "md5":
				got = md5h.Sum(nil)
			case "crc32c":
				got = crch.Sum(nil)
			default:
				continue
			}
			if base64.StdEncoding.EncodeToString(got) != want {
				return fmt.Errorf("%w: %s is %s, the server says %s", errDigest, alg, base64.StdEncoding.EncodeToString(got), want)
			}
		}
	}
	return nil
}

// checkKind refuses content that is not what the source should serve.
func checkKind(head []byte, kind string) error {
	t := bytes.TrimLeft(head, " \t\r\n\ufeff")
	lower := bytes.ToLower(t)
	if kind != kindAny && (bytes.HasPrefix(lower, []byte("<!doctype html")) || bytes.HasPrefix(lower, []byte("<html"))) {
		return &permanentError{fmt.Errorf("the server sent an HTML page instead of %s data", kind), "a proxy, captive portal or wrong URL answered; check the URL and proxy settings"}
	}
	gz := bytes.HasPrefix(head, []byte{0x1f, 0x8b})
	ok := true
	switch kind {
	case kindZip:
		ok = bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06"))
	case kindJSON:
		ok = gz || bytes.HasPrefix(t, []byte("{")) || bytes.HasPrefix(t, []byte("["))
	case kindCSV:
		ok = gz || len(t) > 0 && !bytes.HasPrefix(t, []byte("<"))
	}
	if !ok {
		return fmt.Errorf("%w: the file is not %s data (it starts with %q)", errDigest, kind, truncate(head, 16))
	}
	return nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// watchdog cancels ctx with errStalled when the returned touch function
// has not been called for stall; it stops when ctx ends.
func watchdog(ctx context.Context, cancel context.CancelCauseFunc, stall time.Duration) (touch func()) {
	var (
		mu   sync.Mutex
		last = time.Now()
	)
	go func() {
		t := time.NewTicker(stall / 4)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				mu.Lock()
				idle := time.Since(last)
				mu.Unlock()
				if idle > stall {
					cancel(fmt.Errorf("%w: no data for %s", errStalled, stall))
					return
				}
			}
		}
	}()
	return func() { mu.Lock(); last = time.Now(); mu.Unlock() }
}

// watchReader calls touch whenever data arrives.
type watchReader struct {
	r     io.Reader
	touch func()
}

func (w *watchReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.touch()
	}
	return n, err
}

// headBuffer keeps the first max bytes written to it.
type headBuffer struct {
	b   []byte
	max int
}

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.max - len(h.b); room > 0 {
		h.b = append(h.b, truncate(p, room)...)
	}
	return len(p), nil
}
