package dotnet

import "testing"

func TestDepsJSON(t *testing.T) {
	pkgs, err := ParseDepsJSON([]byte(`{"libraries":{"app/1.0.0":{"type":"project"},"Newtonsoft.Json/13.0.3":{"type":"package"}}}`))
	if err != nil || len(pkgs) != 1 || pkgs[0].Name != "Newtonsoft.Json" || pkgs[0].Version != "13.0.3" {
		t.Errorf("%+v %v", pkgs, err)
	}
	pkgs, err = ParsePackagesLock([]byte(`{"version":1,"dependencies":{"net8.0":{"Serilog":{"type":"Direct","resolved":"3.1.1"},"lib":{"type":"Project"}}}}`))
	if err != nil || len(pkgs) != 1 || pkgs[0].Name != "Serilog" || pkgs[0].Version != "3.1.1" {
		t.Errorf("%+v %v", pkgs, err)
	}
}

func FuzzDotnet(f *testing.F) {
	f.Add([]byte(`{"libraries":{"a/1":{"type":"package"}},"dependencies":{"x":{"b":{"resolved":"1"}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseDepsJSON(b)     //nolint:errcheck // must not panic
		ParsePackagesLock(b) //nolint:errcheck
	})
}
