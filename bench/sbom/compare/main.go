// Command compare reads CycloneDX JSON SBOMs of the same image from
// several tools (NAME=FILE arguments, the first one is the reference) and
// prints, per package URL type, how many packages each found and every
// package that one tool lists and another does not.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	purl "github.com/package-url/packageurl-go"
)

type pkgSet map[string]map[string]bool // purl type -> "name version"

func load(path string) (pkgSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(f, cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	set := pkgSet{}
	var walk func(cs *[]cdx.Component)
	walk = func(cs *[]cdx.Component) {
		if cs == nil {
			return
		}
		for _, c := range *cs {
			walk(c.Components)
			if c.PackageURL == "" {
				continue
			}
			u, err := purl.FromString(c.PackageURL)
			if err != nil {
				continue
			}
			name := u.Name
			if u.Namespace != "" {
				sep := "/"
				if u.Type == "maven" {
					sep = ":"
				}
				name = u.Namespace + sep + u.Name
			}
			if u.Type == "deb" || u.Type == "apk" || u.Type == "rpm" {
				name = u.Name
			}
			if u.Type == "pypi" {
				name = strings.ToLower(strings.ReplaceAll(name, "_", "-"))
			}
			v := u.Version
			if e := u.Qualifiers.Map()["epoch"]; e != "" && e != "0" && (u.Type == "deb" || u.Type == "rpm") {
				// trivy writes the epoch as a qualifier, syft and
				// bulwark in the version, as dpkg prints it.
				v = e + ":" + v
			}
			if u.Type == "golang" {
				v = strings.TrimPrefix(strings.TrimPrefix(v, "v"), "go")
			}
			if set[u.Type] == nil {
				set[u.Type] = map[string]bool{}
			}
			set[u.Type][name+" "+v] = true
		}
	}
	walk(bom.Components)
	return set, nil
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: compare NAME=FILE NAME=FILE...")
		os.Exit(2)
	}
	var names []string
	sets := map[string]pkgSet{}
	types := map[string]bool{}
	for _, a := range os.Args[1:] {
		n, f, ok := strings.Cut(a, "=")
		if !ok {
			fmt.Fprintln(os.Stderr, "compare: want NAME=FILE, got", a)
			os.Exit(2)
		}
		s, err := load(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "compare:", err)
			os.Exit(1)
		}
		names = append(names, n)
		sets[n] = s
		for t := range s {
			types[t] = true
		}
	}
	var ts []string
	for t := range types {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	fmt.Printf("%-10s", "type")
	for _, n := range names {
		fmt.Printf(" %8s", n)
	}
	fmt.Println()
	for _, t := range ts {
		fmt.Printf("%-10s", t)
		for _, n := range names {
			fmt.Printf(" %8d", len(sets[n][t]))
		}
		fmt.Println()
	}
	ref := names[0]
	for _, other := range names[1:] {
		for _, t := range ts {
			only := func(a, b string) []string {
				var out []string
				for k := range sets[a][t] {
					if !sets[b][t][k] {
						out = append(out, k)
					}
				}
				sort.Strings(out)
				return out
			}
			for _, k := range only(ref, other) {
				fmt.Printf("only %s (not %s)  %s  %s\n", ref, other, t, k)
			}
			for _, k := range only(other, ref) {
				fmt.Printf("only %s (not %s)  %s  %s\n", other, ref, t, k)
			}
		}
	}
}
