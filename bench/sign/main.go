// Command sign benchmarks bulwark's sign and verify against the cosign CLI
// in one run, on a real CNCF registry (docker-registry) on 127.0.0.1:
//
//	go run ./bench/sign [-n 100] [-runs 5]
//
// It builds bulwark, pushes n small images, then times (median of runs)
// one sign and one verify with each tool, and verifying all n images by
// digest in one invocation of each tool.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/bulwark-sec/bulwark/bench/benchkit"
	"github.com/bulwark-sec/bulwark/internal/sign"
)

func main() {
	n := flag.Int("n", 100, "images to verify in the batch")
	runs := flag.Int("runs", 5, "repetitions of the single sign/verify (median reported)")
	flag.Parse()
	if err := run(*n, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n, runs int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	dir, bulwark, cosign, err := benchkit.Setup("sign")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	host, stop, err := benchkit.StartRegistry(ctx, dir)
	if err != nil {
		return err
	}
	defer stop()

	priv, pub, err := sign.GenerateKeyPair([]byte("bench"))
	if err != nil {
		return err
	}
	keyFile, pubFile := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		return err
	}
	env := append(os.Environ(), "BULWARK_PASSWORD=bench", "COSIGN_PASSWORD=bench", "TUF_ROOT="+filepath.Join(dir, "tuf"), "COSIGN_YES=true")

	var digests []string
	for i := 0; i < n+2*runs; i++ {
		img, err := random.Image(1024, 1)
		if err != nil {
			return err
		}
		ref, _ := name.ParseReference(fmt.Sprintf("%s/bench/img%d:v1", host, i))
		if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
			return fmt.Errorf("pushing: %w", err)
		}
		d, _ := img.Digest()
		digests = append(digests, ref.Context().Digest(d.String()).String())
	}
	batch, single := digests[:n], digests[n:]

	timeIt := func(bin string, args ...string) (time.Duration, error) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("%s %v: %v\n%s", filepath.Base(bin), args[:2], err, out)
		}
		return time.Since(start), nil
	}
	var bs, cs, bv, cv []time.Duration
	for i := 0; i < runs; i++ {
		bImg, cImg := single[2*i], single[2*i+1]
		d, err := timeIt(bulwark, "sign", bImg, "--key", keyFile)
		if err != nil {
			return err
		}
		bs = append(bs, d)
		if d, err = timeIt(cosign, "sign", "--key", keyFile, "--tlog-upload=false", cImg); err != nil {
			return err
		}
		cs = append(cs, d)
		// Each verifies the other's signature, to show interop as well.
		if d, err = timeIt(bulwark, "verify", cImg, "--key", pubFile); err != nil {
			return err
		}
		bv = append(bv, d)
		if d, err = timeIt(cosign, "verify", "--insecure-ignore-tlog", "--key", pubFile, bImg); err != nil {
			return err
		}
		cv = append(cv, d)
	}
	// Sign the batch (with bulwark's library, not timed), then verify all
	// of it in one invocation of each tool.
	reg, err := sign.NewRegistry(ctx, nil)
	if err != nil {
		return err
	}
	s, err := sign.LoadSigner(ctx, keyFile, sign.StaticPass([]byte("bench")))
	if err != nil {
		return err
	}
	for _, d := range batch {
		if _, err := sign.SignImage(ctx, reg, d, s, sign.SignOptions{}); err != nil {
			return err
		}
	}
	bBatch, err := timeIt(bulwark, append([]string{"verify", "--key", pubFile}, batch...)...)
	if err != nil {
		return err
	}
	cBatch, err := timeIt(cosign, append([]string{"verify", "--insecure-ignore-tlog", "--key", pubFile}, batch...)...)
	if err != nil {
		return err
	}
	fmt.Printf("registry: CNCF distribution (docker-registry) on %s; median of %d runs, each a fresh process\n", host, runs)
	fmt.Printf("%-34s %12s %12s\n", "", "bulwark", "cosign")
	fmt.Printf("%-34s %12s %12s\n", "sign one image (file key)", median(bs), median(cs))
	fmt.Printf("%-34s %12s %12s\n", "verify one image by digest", median(bv), median(cv))
	fmt.Printf("%-34s %12s %12s\n", fmt.Sprintf("verify %d images by digest", n), bBatch.Round(time.Millisecond), cBatch.Round(time.Millisecond))
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2].Round(time.Millisecond)
}
