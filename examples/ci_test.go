package examples

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// load parses a YAML file into generic maps.
func load(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// get walks nested maps by keys.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// strs returns a YAML list (or one string) as strings.
func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// before says whether a command containing first comes before one
// containing then in cmds.
func before(cmds []string, first, then string) bool {
	i, j := -1, -1
	for n, c := range cmds {
		if i < 0 && strings.Contains(c, first) {
			i = n
		}
		if j < 0 && strings.Contains(c, then) {
			j = n
		}
	}
	return i >= 0 && j > i
}

// TestCIExamplesCacheTheDatabase checks that every CI example keeps the
// vulnerability database in a folder its CI caches between runs, and runs
// 'bulwark db update' before the pipeline, so that a fresh runner gets the
// database once and later runs reuse it.
func TestCIExamplesCacheTheDatabase(t *testing.T) {
	t.Run("github-actions", func(t *testing.T) {
		wf := load(t, filepath.Join("github-actions", "bulwark.yml"))
		job := get(wf, "jobs", "pipeline")
		dir, _ := get(job, "env", "BULWARK_CACHE_DIR").(string)
		rel, ok := strings.CutPrefix(dir, "${{ github.workspace }}/")
		if !ok {
			t.Fatalf("BULWARK_CACHE_DIR = %q, want a folder in the workspace", dir)
		}
		var runs []string
		cached := false
		for _, st := range get(job, "steps").([]any) {
			if uses, _ := get(st, "uses").(string); strings.HasPrefix(uses, "actions/cache@") {
				for _, p := range strings.Fields(get(st, "with", "path").(string)) {
					cached = cached || p == rel+"/db" || p == rel
				}
			}
			if r, ok := get(st, "run").(string); ok {
				runs = append(runs, r)
			}
		}
		if !cached || !before(runs, "bulwark db update", "bulwark pipeline run") {
			t.Errorf("cached %v; runs %q", cached, runs)
		}
	})
	t.Run("gitlab-ci", func(t *testing.T) {
		job := get(load(t, filepath.Join("gitlab-ci", ".gitlab-ci.yml")), "bulwark")
		dir, _ := get(job, "variables", "BULWARK_CACHE_DIR").(string)
		rel, ok := strings.CutPrefix(dir, "$CI_PROJECT_DIR/")
		if !ok {
			t.Fatalf("BULWARK_CACHE_DIR = %q, want a folder in the project", dir)
		}
		paths := strings.Join(strs(get(job, "cache", "paths")), " ")
		cmds := append(strs(get(job, "before_script")), strs(get(job, "script"))...)
		if !strings.Contains(paths, rel+"/db") || !before(cmds, "bulwark db update", "bulwark pipeline run") {
			t.Errorf("cache paths %q; commands %q", paths, cmds)
		}
	})
	t.Run("aws-codebuild", func(t *testing.T) {
		spec := load(t, filepath.Join("aws-codebuild", "buildspec-build.yml"))
		dir, _ := get(spec, "env", "variables", "BULWARK_CACHE_DIR").(string)
		paths := strings.Join(strs(get(spec, "cache", "paths")), " ")
		var cmds []string
		for _, ph := range []string{"install", "pre_build", "build"} {
			cmds = append(cmds, strs(get(spec, "phases", ph, "commands"))...)
		}
		if dir == "" || !strings.Contains(paths, dir+"/db/") || !before(cmds, "bulwark db update", "bulwark pipeline run") {
			t.Errorf("BULWARK_CACHE_DIR %q; cache paths %q; commands %q", dir, paths, cmds)
		}
	})
}

// TestWorkflows checks the project's own workflows: the database is built
// incrementally from a cached state folder, signed and pushed to the
// default repository and its mirror; releases carry the asset names
// examples/aws-cdk downloads.
func TestWorkflows(t *testing.T) {
	runs := func(path string) (string, []any) {
		var all []string
		steps := get(load(t, path), "jobs").(map[string]any)
		var list []any
		for _, j := range steps {
			for _, st := range get(j, "steps").([]any) {
				list = append(list, st)
				if r, ok := get(st, "run").(string); ok {
					all = append(all, r)
				}
			}
		}
		return strings.Join(all, "\n"), list
	}
	db, steps := runs(filepath.Join("..", ".github", "workflows", "publish-db.yml"))
	stateCached := false
	for _, st := range steps {
		if uses, _ := get(st, "uses").(string); strings.HasPrefix(uses, "actions/cache@") && get(st, "with", "path") == "upstream-state" {
			stateCached = true
		}
	}
	for _, want := range []string{"--from-upstream --state upstream-state", "bulwark db push --db bulwark-db.bwdb --key", "ghcr.io/bulwark-sec/bulwark-db", "public.ecr.aws/bulwark-sec/bulwark-db"} {
		if !strings.Contains(db, want) {
			t.Errorf("publish-db lacks %q", want)
		}
	}
	if !stateCached {
		t.Error("publish-db does not cache the upstream state")
	}
	rel, _ := runs(filepath.Join("..", ".github", "workflows", "release.yml"))
	stack, err := os.ReadFile(filepath.Join("aws-cdk", "lib", "bulwark-pipeline-stack.js"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`-o "dist/build$n/bulwark-$os-$arch"`, "linux/amd64", `--output-signature "$f.sig"`, "cmp "} {
		if !strings.Contains(rel, want) {
			t.Errorf("release lacks %q", want)
		}
	}
	for _, asset := range []string{"bulwark-linux-amd64\"", "bulwark-linux-amd64.sig\""} {
		if !strings.Contains(string(stack), asset) {
			t.Errorf("examples/aws-cdk no longer downloads %s; the release names it", asset)
		}
	}
}
