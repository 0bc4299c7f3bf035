// Command bulwark is the security gate for container delivery pipelines.
package main

import "github.com/bulwark-sec/bulwark/internal/cli"

func main() { cli.Main() }
