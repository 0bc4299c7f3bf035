// Command mkimage builds the reference images of the sbom benchmark (see
// invtest.ReferenceImages) into the directory given as its argument.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/bulwark-sec/bulwark/internal/inventory/invtest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mkimage OUTDIR")
		os.Exit(2)
	}
	base, app, dirs, err := invtest.ReferenceImages(context.Background(), os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
	fmt.Println(base)
	fmt.Println(app)
	for k, v := range dirs {
		fmt.Printf("%s=%s\n", k, v)
	}
}
