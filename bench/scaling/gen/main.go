// Command gen writes the many-small-files benchmark image (see package
// manyfiles): FILES small files, PER a package, over LAYERS layers.
//
// usage: go run ./bench/scaling/gen -files 400000 -o bench/out/many-400000.tar
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/bulwark-sec/bulwark/internal/testutil/manyfiles"
)

func main() {
	files := flag.Int("files", 400_000, "small files in the node_modules layers")
	per := flag.Int("per", 40, "files per package (one is its package.json)")
	layers := flag.Int("layers", 4, "node_modules layers the files are spread over")
	out := flag.String("o", "", "the docker-archive to write")
	flag.Parse()
	if *out == "" || *files < 1 || *per < 2 || *layers < 1 {
		fmt.Fprintln(os.Stderr, "usage: gen -files N [-per 40] [-layers 4] -o OUT.tar")
		os.Exit(2)
	}
	if err := manyfiles.Write(*out, *files, *per, *layers); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
