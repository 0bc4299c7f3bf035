package testutil

import (
	"fmt"
	"testing"
)

func TestStartRegistry(t *testing.T) {
	reg := StartRegistry(t, RegistryOptions{})
	code, _, err := HTTPGet(fmt.Sprintf("http://%s/v2/", reg.Host))
	if err != nil || code != 200 {
		t.Fatalf("GET /v2/ = %d, %v; want 200", code, err)
	}
}
