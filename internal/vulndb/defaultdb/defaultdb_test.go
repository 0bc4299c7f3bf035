package defaultdb

import (
	"context"
	"slices"
	"testing"
)

func TestEmbeddedKeyLoads(t *testing.T) {
	v, err := LoadKey(context.Background(), "", "")
	if err != nil || v.Ref != KeyName {
		t.Fatalf("embedded key: %v, %v", v, err)
	}
	if _, err := LoadKey(context.Background(), "", "missing.pub"); err == nil {
		t.Error("a $BULWARK_DB_KEY that does not exist was ignored")
	}
}

func TestResolveRepositories(t *testing.T) {
	for _, tc := range []struct {
		flags []string
		env   string
		want  []string
	}{
		{nil, "", Repositories},
		{nil, " a/db , ,b/db", []string{"a/db", "b/db"}},
		{[]string{"c/db"}, "a/db", []string{"c/db"}},
	} {
		if got := ResolveRepositories(tc.flags, tc.env); !slices.Equal(got, tc.want) {
			t.Errorf("ResolveRepositories(%q, %q) = %q, want %q", tc.flags, tc.env, got, tc.want)
		}
	}
}
