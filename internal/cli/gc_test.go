package cli

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestGCPercent(t *testing.T) {
	if _, set := os.LookupEnv("GOGC"); set {
		t.Skip("GOGC is set: bulwark keeps it")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	root := New()
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"server"}, 100},
		{[]string{"admission"}, 100},
		{[]string{"scan"}, gcPercent},
		{[]string{"db", "build"}, gcPercent},
	} {
		debug.SetGCPercent(100)
		cmd, _, err := root.Find(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		applyGCPercent(cmd)
		if got := debug.SetGCPercent(100); got != tc.want {
			t.Errorf("%v: GOGC %d, want %d", tc.args, got, tc.want)
		}
	}
	t.Setenv("GOGC", "100")
	cmd, _, _ := root.Find([]string{"scan"})
	applyGCPercent(cmd)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC=100 set: GOGC %d", got)
	}
}
