package java

import (
	"archive/zip"
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/inventory/invtest"
)

type entry struct {
	name string
	data []byte
}

func makeZip(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pomProps(g, a, v string) entry {
	return entry{"META-INF/maven/" + g + "/" + a + "/pom.properties", []byte("#Generated\ngroupId=" + g + "\nartifactId=" + a + "\nversion=" + v + "\n")}
}

func analyze(t *testing.T, path string, b []byte) (*inventory.Result, error) {
	return Archives{}.Analyze(context.Background(), &inventory.File{Path: path, Size: int64(len(b)), R: bytes.NewReader(b)})
}

func TestWar(t *testing.T) {
	inner := makeZip(t, pomProps("org.slf4j", "slf4j-api", "2.0.9"))
	manifestOnly := makeZip(t, entry{"META-INF/MANIFEST.MF", []byte("Manifest-Version: 1.0\r\nImplementation-Title: commons-io\r\nImplementation-Version: 2.15.1\r\nImplementation-Vendor-Id: commons-io\r\nBundle-License: https://www.apache.org/licenses/LICENSE-2.0.txt\r\n")})
	nameOnly := makeZip(t, entry{"x.class", []byte("cafebabe")})
	deep := makeZip(t, entry{"a.jar", makeZip(t, entry{"b.jar", makeZip(t, entry{"c.jar", makeZip(t, pomProps("too", "deep", "1"))})})})
	war := makeZip(t,
		pomProps("com.example", "app", "1.0.0"),
		entry{"WEB-INF/lib/slf4j-api-2.0.9.jar", inner},
		entry{"WEB-INF/lib/commons-io-2.15.1.jar", manifestOnly},
		entry{"WEB-INF/lib/guava-33.0.0-jre.jar", nameOnly},
		entry{"WEB-INF/lib/notazip.jar", []byte("this is not a zip")},
		entry{"WEB-INF/lib/deep.jar", deep},
	)
	res, err := analyze(t, "srv/app.war", war)
	if err != nil {
		t.Fatal(err)
	}
	want := "com.example:app@1.0.0, commons-io:commons-io@2.15.1, guava:guava@33.0.0-jre, org.slf4j:slf4j-api@2.0.9"
	if got := invtest.List(res.Packages); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var notZip, tooDeep bool
	for _, w := range res.Warnings {
		notZip = notZip || strings.Contains(w, "srv/app.war!/WEB-INF/lib/notazip.jar: skipped: not a readable zip")
		tooDeep = tooDeep || strings.Contains(w, "nested more than 3 deep")
	}
	if !notZip || !tooDeep {
		t.Errorf("warnings = %q", res.Warnings)
	}
}

func TestNotAZip(t *testing.T) {
	if _, err := analyze(t, "a.jar", []byte("PK\x03\x04 nope")); err == nil {
		t.Error("a jar that is not a zip was read without error")
	}
}

// TestZipBomb nests a jar that inflates past the nested-jar limit: it is
// skipped with a warning; the rest of the archive is still read.
func TestZipBomb(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("bomb.bin")
	zero := make([]byte, 1<<20)
	for i := 0; i < maxNested>>20+1; i++ {
		w.Write(zero)
	}
	zw.Close()
	jar := makeZip(t, pomProps("ok", "ok", "1"), entry{"lib/bomb.jar", buf.Bytes()})
	res, err := analyze(t, "bomb.jar", jar)
	if err != nil {
		t.Fatal(err)
	}
	if invtest.List(res.Packages) != "ok:ok@1" {
		t.Errorf("packages = %s", invtest.List(res.Packages))
	}
	// bomb.jar's 65 MiB entry is something no analyzer reads, so it is
	// never inflated. A nested jar that inflates past the limit is refused:
	big := makeZip(t, entry{"lib/huge.jar", bytes.Repeat([]byte{0}, maxNested+1)})
	res, err = analyze(t, "big.jar", big)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "zip bomb") {
		t.Errorf("warnings = %q", res.Warnings)
	}
}

func TestPOM(t *testing.T) {
	pom := `<project><groupId>g</groupId><artifactId>a</artifactId><version>1.0</version>
<properties><jackson.version>2.16.1</jackson.version></properties>
<dependencyManagement><dependencies><dependency><groupId>org.x</groupId><artifactId>managed</artifactId><version>3.3</version></dependency></dependencies></dependencyManagement>
<dependencies>
<dependency><groupId>com.fasterxml.jackson.core</groupId><artifactId>jackson-databind</artifactId><version>${jackson.version}</version></dependency>
<dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13.2</version><scope>test</scope></dependency>
<dependency><groupId>org.x</groupId><artifactId>managed</artifactId></dependency>
<dependency><groupId>org.y</groupId><artifactId>fromparent</artifactId></dependency>
<dependency><groupId>g</groupId><artifactId>sibling</artifactId><version>${project.version}</version></dependency>
</dependencies></project>`
	pkgs, warnings, err := ParsePOM([]byte(pom), "pom.xml")
	if err != nil {
		t.Fatal(err)
	}
	if got := invtest.List(pkgs); got != "com.fasterxml.jackson.core:jackson-databind@2.16.1, g:sibling@1.0, junit:junit@4.13.2 dev, org.x:managed@3.3" {
		t.Errorf("got %s", got)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "org.y:fromparent") {
		t.Errorf("warnings = %q", warnings)
	}
	g := ParseGradleLock([]byte("# comment\ncom.google.guava:guava:33.0.0-jre=compileClasspath,runtimeClasspath\nempty=annotationProcessor\n"))
	if invtest.List(g) != "com.google.guava:guava@33.0.0-jre" {
		t.Errorf("gradle: %s", invtest.List(g))
	}
}

func FuzzArchive(f *testing.F) {
	f.Add(makeZip(f, pomProps("g", "a", "1"), entry{"META-INF/MANIFEST.MF", []byte("Implementation-Version: 1\n")}))
	f.Add(makeZip(f, entry{"x.jar", makeZip(f, pomProps("g", "b", "2"))}))
	f.Fuzz(func(t *testing.T, b []byte) {
		budget := int64(maxInflated)
		readArchive(bytes.NewReader(b), int64(len(b)), "f.jar", "f.jar", 0, &budget, &inventory.Result{}) //nolint:errcheck // must not panic
	})
}

func FuzzPOM(f *testing.F) {
	f.Add([]byte("<project><dependencies><dependency><groupId>a</groupId><artifactId>b</artifactId><version>${x}</version></dependency></dependencies></project>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParsePOM(b, "pom.xml") //nolint:errcheck // must not panic
		ParseGradleLock(b)
	})
}
