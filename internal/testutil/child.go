package testutil

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// RunChild makes the test binary a child process of a test: when env
// holds a spec (see StartChild), it runs fn with it and exits with fn's
// code. Call it first in TestMain.
func RunChild(env string, fn func(spec string) int) {
	if spec := os.Getenv(env); spec != "" {
		os.Exit(fn(spec))
	}
}

// StartChild starts the test binary again as a child process, spec as
// JSON in env (read by RunChild), its standard error on the test's and
// its standard output to stdout (nil: discarded). The child is killed at
// the end of the test if it still runs; KillChild ends it before.
func StartChild(t testing.TB, env string, spec any, stdout io.Writer) *exec.Cmd {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), env+"="+string(raw))
	child.Stderr = os.Stderr
	child.Stdout = stdout
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		child.Process.Kill()
		child.Wait()
	})
	return child
}

// KillChild ends a child of StartChild with SIGKILL, as a crash would,
// and waits for it.
func KillChild(t testing.TB, child *exec.Cmd) {
	t.Helper()
	if err := syscall.Kill(child.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
}
