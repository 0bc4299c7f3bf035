// Command bulwark-ecs-hook is bulwark ecs-hook as an AWS Lambda custom
// runtime: build it as "bootstrap" (GOOS=linux, -tags lambda.norpc) and
// zip it; the policy comes from BULWARK_POLICY or BULWARK_KEY.
package main

import (
	"os"

	"github.com/bulwark-sec/bulwark/internal/cli"
)

func main() {
	os.Args = append([]string{os.Args[0], "ecs-hook"}, os.Args[1:]...)
	cli.Main()
}
