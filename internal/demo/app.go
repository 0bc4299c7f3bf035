package demo

import (
	"archive/tar"
	"bytes"
	"io"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// dockerfile is the sample app's Dockerfile: no RUN, so bulwark builds it
// natively. REGISTRY and BASETAG are filled in per run.
const dockerfile = `# The sample app: a Node.js service on the demo base image.
FROM REGISTRY/demo/node-base:BASETAG
LABEL org.opencontainers.image.title="bulwark demo app"
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY app/ /app/
USER 1000:1000
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["/usr/local/bin/node", "/app/src/health.js"]
CMD ["/usr/local/bin/node", "/app/src/server.js"]
`

// pipelineFile is the demo's bulwark.yaml: registry, signing key, verify key.
const pipelineFile = `# bulwark.yaml of the demo (see docs/pipeline.md)
version: 1
name: demo
source:
  dir: .
secrets:
  failOn: any
build:
  builder: native
  dockerfile: Dockerfile
scan:
  vulnerabilities:
    failOn: critical
  lint:
    failOn: fatal
  secrets:
    failOn: any
push:
  repository: %s/demo/app
  tags: ["demo-{{.Timestamp}}"]
  immutable: true
  retries: 1
  backoff: 100ms
sign:
  key: %s
verify:
  key: %s
deploy:
  command: echo "deploying $BULWARK_IMAGE (verified)"
`

func appFiles() map[string]string {
	return map[string]string{
		"app/package.json":  "{\n  \"name\": \"demo-app\",\n  \"version\": \"1.0.0\",\n  \"private\": true\n}\n",
		"app/src/server.js": "const http = require('http');\nconst config = require('./config');\nhttp.createServer((req, res) => res.end('hello from the bulwark demo\\n')).listen(config.port);\n",
		"app/src/health.js": "require('http').get('http://127.0.0.1:8080/', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1));\n",
		"app/src/config.js": "module.exports = {\n  port: 8080,\n  region: \"eu-west-1\",\n};\n",
		".dockerignore":     "*.md\n",
		"README.md":         "The bulwark demo app.\n",
	}
}

type file struct {
	path, content string
	mode          int64
	dir           bool
}

func baseImage(minimist string) (v1.Image, error) {
	files := []file{
		{path: "etc/", dir: true, mode: 0o755},
		{path: "etc/passwd", content: "root:x:0:0:root:/root:/sbin/nologin\nnode:x:1000:1000:node:/home/node:/sbin/nologin\n", mode: 0o644},
		{path: "etc/group", content: "root:x:0:\nnode:x:1000:\n", mode: 0o644},
		{path: "home/", dir: true, mode: 0o755},
		{path: "home/node/", dir: true, mode: 0o755},
		{path: "tmp/", dir: true, mode: 0o1777},
		{path: "usr/", dir: true, mode: 0o755},
		{path: "usr/local/", dir: true, mode: 0o755},
		{path: "usr/local/bin/", dir: true, mode: 0o755},
		{path: "usr/local/bin/node", content: "#!/bin/sh\n# stand-in for the node binary in this demo base\n", mode: 0o755},
		{path: "usr/lib/", dir: true, mode: 0o755},
		{path: "usr/lib/node_modules/", dir: true, mode: 0o755},
		{path: "usr/lib/node_modules/minimist/", dir: true, mode: 0o755},
		{path: "usr/lib/node_modules/minimist/package.json", content: "{\n  \"name\": \"minimist\",\n  \"version\": \"" + minimist + "\",\n  \"license\": \"MIT\"\n}\n", mode: 0o644},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.path, Mode: f.mode, ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Size: int64(len(f.content)), Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := io.WriteString(tw, f.content); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		return nil, err
	}
	diff, err := layer.DiffID()
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, History: v1.History{
		Created: created, CreatedBy: "/bin/sh -c #(nop) ADD file:" + diff.Hex + " in / ",
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", runtime.GOARCH, created
	cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	cf.Config.Cmd = []string{"/usr/local/bin/node"}
	return mutate.ConfigFile(img, cf)
}
