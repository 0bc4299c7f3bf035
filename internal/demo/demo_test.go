package demo

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	outcomes, err := Run(context.Background(), Options{Out: &out})
	t.Log(out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 5 {
		t.Fatalf("%d outcomes", len(outcomes))
	}
	for i, oc := range outcomes {
		if !oc.OK {
			t.Errorf("scenario %d: %s", i+1, describe(oc))
		}
	}
	if !strings.Contains(out.String(), "CIS-DI-0009") || !strings.Contains(out.String(), "GHSA-xvch-5gv4-984h") {
		t.Error("the output does not name the lint check and the advisory")
	}
	// Cleaned up: the workspace is gone.
	if ws := outcomes[0].Run.Artifacts; ws != "" {
		if _, err := os.Stat(ws); err == nil {
			t.Errorf("workspace %s left behind", ws)
		}
	}
}
