package pipeline

import (
	"strings"
	"testing"
)

const goodFile = `version: 1
name: app
source:
  dir: .
secrets:
  failOn: any
build:
  dockerfile: Dockerfile
scan:
  vulnerabilities: {failOn: critical, vex: [vex.json]}
  lint: {failOn: fatal}
push:
  repository: 127.0.0.1:5000/team/app
  tags: ["{{.GitShort}}-{{.Timestamp}}", "run-{{env \"RUN\"}}"]
  immutable: true
  retries: 2
  backoff: 1s
sign:
  key: cosign.key
verify:
  key: cosign.pub
deploy:
  command: ["kubectl", "set", "image", "deploy/app", "app=$BULWARK_IMAGE"]
  timeout: 5m
`

func TestParseGood(t *testing.T) {
	f, err := Parse(strings.NewReader(goodFile), "bulwark.yaml", ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Stages(), ","); got != "source,secrets,build,scan,push,sign,verify,tag,deploy" {
		t.Errorf("stages %s", got)
	}
	if *f.Push.Retries != 2 || f.Deploy.Command.Argv[0] != "kubectl" || !f.Push.Immutable {
		t.Errorf("parsed %+v %+v", f.Push, f.Deploy)
	}
	if f.Line("push.immutable") != 15 {
		t.Errorf("Line(push.immutable) = %d", f.Line("push.immutable"))
	}
	var b strings.Builder
	Plan(&b, f, "")
	for _, want := range []string{"1. source", "immutable", "9. deploy", "kubectl set image"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, b.String())
		}
	}
}

func TestParseErrorsNameLines(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"version: 1\nbuild:\n  dockerfile: D\n  colour: red\n", "bulwark.yaml:4: field colour not found"},
		{"version: 1\npush:\n  repository: r.example/app\n  immutable: yes please\n", "bulwark.yaml:4: cannot unmarshal"},
		{"version: 1\nbuild:\n  image: app.tar\nscan:\n  timeout: soon\n", "bulwark.yaml:5: \"soon\" is not a duration"},
		{"version: 1\nbuild:\n  image: app.tar\nscan:\n  vulnerabilities:\n    failOn: catastrophic\n", "bulwark.yaml:6: scan.vulnerabilities.failOn: \"catastrophic\""},
		{"version: 1\nbuild:\n  image: a.tar\npush:\n  repository: r.example/app\n  tags:\n    - ok\n    - \"{{.Nope}}\"\n", "bulwark.yaml:8: push.tags[1]"},
		{"version: 1\nbuild:\n  image: a.tar\npush:\n  repository: r.example/app:tag\n", "bulwark.yaml:5: push.repository"},
		{"version: 1\nbuild:\n  image: a.tar\ndeploy:\n  command: echo hi\n", "bulwark.yaml:4: deploy: needs a verify stage"},
		{"version: 1\nscan:\n  lint: {}\n", "bulwark.yaml:2: scan: needs an image"},
		{"version: 2\nbuild: {image: a}\n", "bulwark.yaml:1: version: version 2 is not supported"},
		{"version: 1\nbuild: {image: a}\npush:\n  repository: r.example/a\nsign:\n  attest: [sbom]\n", "bulwark.yaml:5: sign.key: missing"},
		{"version: 1\nbuild: {image: a}\nscan: {}\n  bad indent\n", "bulwark.yaml:3: did not find expected key"},
		{"", "empty pipeline file"},
		{"version: 1\nsource: {dir: .}\nsource: {dir: x}\n", "bulwark.yaml:3"},
	} {
		_, err := Parse(strings.NewReader(tc.src), "bulwark.yaml", ValidateOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q):\n got %v\nwant %q", tc.src, err, tc.want)
		}
	}
}

func TestParseInputSatisfiesImage(t *testing.T) {
	src := "version: 1\nscan:\n  lint: {failOn: fatal}\n"
	if _, err := Parse(strings.NewReader(src), "b.yaml", ValidateOptions{HasInput: true}); err != nil {
		t.Fatal(err)
	}
}

func TestRenderTag(t *testing.T) {
	d := TagData{GitShort: "abc1234", Timestamp: "20260101120000"}
	got, err := RenderTag(DefaultTag, d, func(string) string { return "" })
	if err != nil || got != "abc1234-20260101120000" {
		t.Fatalf("RenderTag = %q, %v", got, err)
	}
	if _, err := RenderTag("{{env \"X\"}}", d, func(string) string { return "bad/tag" }); err == nil {
		t.Fatal("a tag with a slash was accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(goodFile)
	f.Add("version: 1\nbuild: {image: a}\npush: {repository: x/y, tags: ['{{.Date}}']}\n")
	f.Add("deploy:\n  command: [a, b]\n  env: {A: b}\n")
	f.Fuzz(func(t *testing.T, src string) {
		pf, err := Parse(strings.NewReader(src), "bulwark.yaml", ValidateOptions{})
		if err != nil {
			if !strings.Contains(err.Error(), "bulwark.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(pf.Stages()) == 0 {
			t.Fatal("valid file with no stages")
		}
		var b strings.Builder
		Plan(&b, pf, "")
	})
}
