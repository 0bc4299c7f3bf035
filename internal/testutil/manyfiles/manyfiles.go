// Package manyfiles writes the many-small-files benchmark image: a
// docker-archive whose layers look like a Node.js application's
// node_modules (files small files, per files a package: a package.json,
// sources, a README, a licence), spread over several layers on top of a
// small OS layer (os-release, passwd, group). Its content is the same on
// every run (fixed seed), so figures from two runs compare. bench/scaling
// and the walk benchmarks use it.
package manyfiles

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"
)

// blob is one written layer: where it is, its compressed digest and the
// digest of its tar stream (the diff ID).
type blob struct {
	file, diffID string
}

// Write writes the image to out: files small files, per a package (at
// least 2), over layers node_modules layers.
func Write(out string, files, per, layers int) error {
	if files < 1 || per < 2 || layers < 1 {
		return fmt.Errorf("manyfiles: want files >= 1, per >= 2, layers >= 1 (got %d, %d, %d)", files, per, layers)
	}
	work, err := os.MkdirTemp(filepath.Dir(out), ".gen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	pkgs := (files + per - 1) / per
	blobs := make([]blob, layers+1)
	var g errgroup.Group
	g.SetLimit(2)
	g.Go(func() (err error) {
		blobs[0], err = layer(work, 0, osLayer)
		return err
	})
	for l := range layers {
		from, to := pkgs*l/layers, pkgs*(l+1)/layers
		g.Go(func() (err error) {
			blobs[l+1], err = layer(work, l+1, func(tw *tar.Writer) error { return packages(tw, from, to, per, files) })
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return archive(out, work, blobs)
}

// layer writes one gzip-compressed tar layer to work/N.tar.gz.
func layer(work string, n int, fill func(*tar.Writer) error) (blob, error) {
	b := blob{file: fmt.Sprintf("%d.tar.gz", n)}
	f, err := os.Create(filepath.Join(work, b.file))
	if err != nil {
		return b, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	zw, err := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	if err != nil {
		return b, err
	}
	diff := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(zw, diff))
	if err := fill(tw); err != nil {
		return b, err
	}
	if err := tw.Close(); err != nil {
		return b, err
	}
	if err := zw.Close(); err != nil {
		return b, err
	}
	if err := bw.Flush(); err != nil {
		return b, err
	}
	b.diffID = digest(diff)
	return b, f.Close()
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func dir(tw *tar.Writer, p string) error {
	return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX})
}

func file(tw *tar.Writer, p string, body []byte) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: 0o644, Size: int64(len(body)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err := tw.Write(body)
	return err
}

// osLayer is the few files an OS layer contributes that the gates read.
func osLayer(tw *tar.Writer) error {
	for _, d := range []string{"etc", "usr", "usr/lib", "app"} {
		if err := dir(tw, d); err != nil {
			return err
		}
	}
	for p, body := range map[string]string{
		"usr/lib/os-release": "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n",
		"etc/passwd":         "root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n",
		"etc/group":          "root:x:0:\nnode:x:1000:\n",
	} {
		if err := file(tw, p, []byte(body)); err != nil {
			return err
		}
	}
	return nil
}

// packages writes packages [from, to): each a folder under
// app/node_modules with a package.json and per-1 other small files in a
// lib/ folder (the last package is cut at files in all).
func packages(tw *tar.Writer, from, to, per, files int) error {
	rng := rand.New(rand.NewPCG(uint64(from), 18))
	if err := dir(tw, "app/node_modules"); err != nil {
		return err
	}
	var body []byte
	for i := from; i < to; i++ {
		name := fmt.Sprintf("pkg-%06d", i)
		root := "app/node_modules/" + name
		if err := dir(tw, root); err != nil {
			return err
		}
		if err := dir(tw, root+"/lib"); err != nil {
			return err
		}
		pj := fmt.Sprintf("{\n  \"name\": %q,\n  \"version\": \"1.%d.%d\",\n  \"description\": \"benchmark package %d\",\n  \"main\": \"lib/index.js\",\n  \"license\": \"MIT\"\n}\n", name, i%50, i%7, i)
		if err := file(tw, root+"/package.json", []byte(pj)); err != nil {
			return err
		}
		n := min(per, files-i*per)
		for j := 1; j < n; j++ {
			var p string
			switch j {
			case 1:
				p = root + "/README.md"
			case 2:
				p = root + "/LICENSE"
			default:
				p = fmt.Sprintf("%s/lib/m%02d.js", root, j)
			}
			body = source(body[:0], rng, name, j)
			if err := file(tw, p, body); err != nil {
				return err
			}
		}
	}
	return nil
}

// source appends a small JavaScript-like file of 100 to 1500 bytes.
func source(b []byte, rng *rand.Rand, name string, j int) []byte {
	size := 100 + rng.IntN(1400)
	b = fmt.Appendf(b, "'use strict';\n// %s module %d\n", name, j)
	words := []string{"const", "return", "function", "value", "options", "this", "if", "=>", "null", "module.exports", "require('./m%02d')"}
	for len(b) < size {
		w := words[rng.IntN(len(words))]
		if strings.Contains(w, "%") {
			w = fmt.Sprintf(w, rng.IntN(40))
		}
		b = append(b, w...)
		if rng.IntN(8) == 0 {
			b = append(b, ";\n"...)
		} else {
			b = append(b, ' ')
		}
	}
	return b
}

// archive writes the docker-archive: the config, manifest.json and the
// layers, as docker save lays them out.
func archive(out, work string, blobs []blob) error {
	diffIDs := make([]string, len(blobs))
	history := make([]map[string]any, len(blobs))
	for i, b := range blobs {
		diffIDs[i] = b.diffID
		history[i] = map[string]any{"created": epoch, "created_by": fmt.Sprintf("COPY layer%d /app # buildkit", i)}
	}
	history[0]["created_by"] = "/bin/sh -c #(nop) ADD file:os in / "
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "created": epoch,
		"config": map[string]any{"User": "node", "Env": []string{"PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production"},
			"WorkingDir": "/app", "Cmd": []string{"node", "lib/index.js"},
			"Healthcheck": map[string]any{"Test": []string{"CMD", "node", "lib/health.js"}}},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": diffIDs},
		"history": history,
	})
	if err != nil {
		return err
	}
	sum := sha256.Sum256(config)
	configName := hex.EncodeToString(sum[:]) + ".json"
	var layerNames []string
	for _, b := range blobs {
		layerNames = append(layerNames, strings.TrimPrefix(b.diffID, "sha256:")+"/layer.tar.gz")
	}
	manifest, err := json.Marshal([]map[string]any{{"Config": configName, "RepoTags": []string{"bench/many-files:latest"}, "Layers": layerNames}})
	if err != nil {
		return err
	}
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	tw := tar.NewWriter(f)
	add := func(name string, body []byte) error { return file(tw, name, body) }
	if err := add(configName, config); err != nil {
		return err
	}
	for i, b := range blobs {
		src, err := os.Open(filepath.Join(work, b.file))
		if err != nil {
			return err
		}
		st, err := src.Stat()
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: layerNames[i], Mode: 0o644, Size: st.Size(), ModTime: epoch})
		}
		if err == nil {
			_, err = io.Copy(tw, src)
		}
		src.Close()
		if err != nil {
			return err
		}
	}
	if err := add("manifest.json", manifest); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

func digest(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }
