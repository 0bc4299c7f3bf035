package eventbridge

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/server/webhook"
)

// testdata/ecr-image-push.json is AWS's documented sample of the event
// sent for a completed image push (Amazon ECR User Guide, "Amazon ECR
// events and EventBridge"), written out by hand; only the sample's digest,
// which is four hex digits short, was completed to 64.
func fixture(t testing.TB) string {
	b, err := os.ReadFile("testdata/ecr-image-push.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDecode(t *testing.T) {
	p, err := Decode(strings.NewReader(fixture(t)))
	if err != nil {
		t.Fatal(err)
	}
	want := webhook.Push{Registry: "123456789012.dkr.ecr.us-west-2.amazonaws.com", Repository: "my-repository-name",
		Digest: "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd12345678", Tag: "latest"}
	if p == nil || *p != want {
		t.Fatalf("got %+v, want %+v", p, want)
	}
	// A deletion: the same event with action-type DELETE (ECR's sample
	// of an image deletion differs from the push's only there and in its
	// id and time).
	p, err = Decode(strings.NewReader(strings.Replace(fixture(t), `"PUSH"`, `"DELETE"`, 1)))
	want.Delete = true
	if err != nil || p == nil || *p != want {
		t.Fatalf("delete: got %+v, %v; want %+v", p, err, want)
	}
	if p, err := Decode(strings.NewReader(strings.Replace(strings.Replace(fixture(t), `"PUSH"`, `"DELETE"`, 1), `"sha256:7f5b`, `"7f5b`, 1))); err == nil {
		t.Errorf("delete with a malformed digest: %+v, no error", p)
	}
	if h := Host("123456789012", "cn-north-1"); h != "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn" {
		t.Errorf("China host %s", h)
	}
}

func TestDecodeIgnored(t *testing.T) {
	f := fixture(t)
	for name, body := range map[string]string{
		"failed delete": strings.Replace(strings.Replace(f, `"PUSH"`, `"DELETE"`, 1), `"SUCCESS"`, `"FAILURE"`, 1),
		"other action":  strings.Replace(f, `"PUSH"`, `"REPLICATE"`, 1),
		"failed push":   strings.Replace(f, `"SUCCESS"`, `"FAILURE"`, 1),
		"scan":          strings.Replace(f, `"ECR Image Action"`, `"ECR Image Scan"`, 1),
		"other source":  strings.Replace(f, `"aws.ecr"`, `"aws.s3"`, 1),
	} {
		if p, err := Decode(strings.NewReader(body)); p != nil || err != nil {
			t.Errorf("%s: %+v %v, want ignored", name, p, err)
		}
	}
}

func TestDecodeHostile(t *testing.T) {
	f := fixture(t)
	if _, err := Decode(strings.NewReader(`{"detail-type":"` + strings.Repeat("x", webhook.MaxBody) + `"}`)); !errors.Is(err, webhook.ErrTooLarge) {
		t.Errorf("too large: %v, want ErrTooLarge", err)
	}
	for name, body := range map[string]string{
		"not json":    "<xml/>",
		"empty":       "",
		"no detail":   `{"detail-type":"ECR Image Action","source":"aws.ecr"}`,
		"array":       `[` + f + `]`,
		"trailing":    f + f,
		"bad account": strings.Replace(f, `"123456789012"`, `"evil.example/x"`, 1),
		"bad region":  strings.Replace(f, `"us-west-2"`, `"us-west-2.evil.example"`, 1),
		"bad repo":    strings.Replace(f, `"my-repository-name"`, `"../x"`, 1),
		"bad digest":  strings.Replace(f, `"sha256:7f5b`, `"sha256:zz`, 1),
		"bad tag":     strings.Replace(f, `"latest"`, `"-x y"`, 1),
	} {
		if p, err := Decode(strings.NewReader(body)); err == nil {
			t.Errorf("%s: %+v, no error", name, p)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(fixture(f)))
	f.Add([]byte(`{"detail-type":"ECR Image Action","source":"aws.ecr","detail":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(strings.NewReader(string(b)))
		if err != nil || p == nil {
			return
		}
		if err := p.Check([4]string{}); err != nil || !strings.Contains(p.Registry, ".dkr.ecr.") {
			t.Fatalf("accepted a malformed push %+v: %v", p, err)
		}
	})
}
