// Command admission benchmarks bulwark admission's decision latency on a
// real CNCF registry (docker-registry) on 127.0.0.1, beside cosign verify of
// the same images in the same run:
//
//	go run ./bench/admission [-n 1000] [-peer 20]
//
// It builds bulwark, pushes n small images, signs each and attaches a vuln
// attestation (bulwark's library), starts `bulwark admission` with a policy
// that requires both, and sends AdmissionReview requests over HTTPS, one at
// a time: a cold pass (each image seen for the first time: registry round
// trips and signature checks) and a warm pass (the same n images again,
// from the cache). The peer is `cosign verify` and `cosign
// verify-attestation` of -peer of the same images, each a fresh process,
// as a deploy step runs them. The admission server's peak RSS is read
// from /proc.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/bulwark-sec/bulwark/bench/benchkit"
	"github.com/bulwark-sec/bulwark/internal/sign"
)

func main() {
	n := flag.Int("n", 1000, "images (and requests per pass)")
	peer := flag.Int("peer", 20, "images cosign verifies (one process each)")
	flag.Parse()
	if err := run(*n, *peer); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n, peer int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	dir, bulwark, cosign, err := benchkit.Setup("admission")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	host, stop, err := benchkit.StartRegistry(ctx, dir)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(os.Stderr, "load average at start: %s", loadavg())

	images, pubFile, err := fixture(ctx, dir, host, n)
	if err != nil {
		return err
	}
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, fmt.Appendf(nil, "keys: [%s]\nattestations:\n  - type: vuln\n    maxAge: 24h\n    failOn: critical\nregistries: [%s]\n", pubFile, host), 0o644); err != nil {
		return err
	}
	srv, client, err := startAdmission(ctx, bulwark, dir, policy)
	if err != nil {
		return err
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()

	pass := func() ([]time.Duration, error) {
		var ds []time.Duration
		for _, img := range images {
			d, err := validate(client, img)
			if err != nil {
				return nil, err
			}
			ds = append(ds, d)
		}
		return ds, nil
	}
	cold, err := pass()
	if err != nil {
		return err
	}
	warm, err := pass()
	if err != nil {
		return err
	}
	rss := peakRSS(srv.Process.Pid)

	env := append(os.Environ(), "TUF_ROOT="+filepath.Join(dir, "tuf"))
	var cv, cva []time.Duration
	for _, img := range images[:min(peer, len(images))] {
		for _, args := range [][]string{
			{"verify", "--insecure-ignore-tlog", "--key", pubFile, img},
			{"verify-attestation", "--insecure-ignore-tlog", "--type", "vuln", "--key", pubFile, img},
		} {
			cmd := exec.CommandContext(ctx, cosign, args...)
			cmd.Env = env
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("cosign %s: %v\n%s", args[0], err, out)
			}
			if args[0] == "verify" {
				cv = append(cv, time.Since(start))
			} else {
				cva = append(cva, time.Since(start))
			}
		}
	}
	both := make([]time.Duration, len(cv))
	for i := range cv {
		both[i] = cv[i] + cva[i]
	}
	fmt.Printf("registry: CNCF distribution (docker-registry) on %s; policy: signature + vuln attestation (maxAge, failOn)\n", host)
	fmt.Printf("%-52s %10s %10s %6s\n", "per image decision", "p50", "p99", "n")
	row := func(label string, ds []time.Duration) {
		fmt.Printf("%-52s %10s %10s %6d\n", label, pct(ds, 50), pct(ds, 99), len(ds))
	}
	row("bulwark admission /validate, cold (first sight)", cold)
	row("bulwark admission /validate, warm (cached digest)", warm)
	row("cosign verify (one process)", cv)
	row("cosign verify + verify-attestation (two processes)", both)
	fmt.Printf("bulwark admission peak RSS: %d MiB (after %d requests)\n", rss/1024, 2*len(images))
	fmt.Fprintf(os.Stderr, "load average at end: %s", loadavg())
	return nil
}

// fixture pushes n images, signs each and attests a clean scan.
func fixture(ctx context.Context, dir, host string, n int) ([]string, string, error) {
	priv, pub, err := sign.GenerateKeyPair([]byte("bench"))
	if err != nil {
		return nil, "", err
	}
	keyFile, pubFile := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		return nil, "", err
	}
	reg, err := sign.NewRegistry(ctx, nil)
	if err != nil {
		return nil, "", err
	}
	s, err := sign.LoadSigner(ctx, keyFile, sign.StaticPass([]byte("bench")))
	if err != nil {
		return nil, "", err
	}
	report := fmt.Appendf(nil, `{"tool":"bulwark","version":"bench","createdAt":%q,"findings":[{"gate":"vuln","id":"CVE-1","severity":"LOW"}]}`, time.Now().UTC().Format(time.RFC3339))
	var out []string
	for i := range n {
		img, err := random.Image(512, 1)
		if err != nil {
			return nil, "", err
		}
		ref, _ := name.ParseReference(fmt.Sprintf("%s/bench/app%d:v1", host, i))
		if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
			return nil, "", fmt.Errorf("pushing: %w", err)
		}
		d, _ := img.Digest()
		dig := ref.Context().Digest(d.String()).String()
		if _, err := sign.SignImage(ctx, reg, dig, s, sign.SignOptions{}); err != nil {
			return nil, "", err
		}
		if _, err := sign.AttestImage(ctx, reg, dig, s, sign.AttestOptions{Type: "vuln", Predicate: report}); err != nil {
			return nil, "", err
		}
		out = append(out, dig)
	}
	return out, pubFile, nil
}

// startAdmission runs bulwark admission with a development certificate and
// returns a client that trusts it.
func startAdmission(ctx context.Context, bulwark, dir, policy string) (*exec.Cmd, *http.Client, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	addr := l.Addr().String()
	l.Close()
	pemFile := filepath.Join(dir, "ca.pem")
	cmd := exec.CommandContext(ctx, bulwark, "admission", "--listen", addr, "--policy", policy, "--dev-cert-hosts", "127.0.0.1", "--dev-cert-out", pemFile)
	logf, err := os.Create(filepath.Join(dir, "admission.log"))
	if err != nil {
		return nil, nil, err
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			continue
		}
		c.Close()
		pem, err := os.ReadFile(pemFile)
		if err != nil {
			return nil, nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		return cmd, &http.Client{Timeout: 30 * time.Second, Transport: &baseURL{"https://" + addr, tr}}, nil
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, nil, fmt.Errorf("bulwark admission did not start on %s", addr)
}

// baseURL sends every request to the admission server.
type baseURL struct {
	base string
	tr   http.RoundTripper
}

func (b *baseURL) RoundTrip(r *http.Request) (*http.Response, error) {
	u, err := r.URL.Parse(b.base + r.URL.Path)
	if err != nil {
		return nil, err
	}
	r.URL = u
	return b.tr.RoundTrip(r)
}

// validate sends one AdmissionReview for a pod running img and checks
// that it is allowed.
func validate(c *http.Client, img string) (time.Duration, error) {
	body := fmt.Appendf(nil, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","name":"p","namespace":"default","object":{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"app","image":%q}]}}}}`, img)
	start := time.Now()
	resp, err := c.Post("/validate", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	var rv struct {
		Response struct {
			Allowed bool
			Status  struct{ Message string }
		}
	}
	if err := json.Unmarshal(b, &rv); err != nil || !rv.Response.Allowed {
		return 0, fmt.Errorf("%s not allowed: %s", img, b)
	}
	return d, nil
}

func pct(ds []time.Duration, p int) string {
	if len(ds) == 0 {
		return "-"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	i = min(max(i-1, 0), len(s)-1)
	d := s[i]
	if d < time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(100 * time.Microsecond).String()
}

// peakRSS reads VmHWM (KiB) of a process.
func peakRSS(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kib int
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kib)
			return kib
		}
	}
	return 0
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return string(b)
}
