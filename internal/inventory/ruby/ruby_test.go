package ruby

import (
	"strings"
	"testing"
)

const gemspec = `# -*- encoding: utf-8 -*-
# stub: rack 3.0.8 ruby lib

Gem::Specification.new do |s|
  s.name = "rack".freeze
  s.version = "3.0.8"
  s.licenses = ["MIT".freeze]
  s.summary = "a modular Ruby webserver interface".freeze
end
`

func TestGemspec(t *testing.T) {
	p, err := ParseGemspec([]byte(gemspec))
	if err != nil || p.Name != "rack" || p.Version != "3.0.8" || strings.Join(p.Licenses, ",") != "MIT" {
		t.Errorf("%+v %v", p, err)
	}
	if _, err := ParseGemspec([]byte("Gem::Specification.new do |s|\nend\n")); err == nil {
		t.Error("gemspec without name accepted")
	}
}

func TestGemfileLock(t *testing.T) {
	lock := "GEM\n  remote: https://rubygems.org/\n  specs:\n    actioncable (7.1.2)\n      actionpack (= 7.1.2)\n    nokogiri (1.16.0-x86_64-linux)\n      racc (~> 1.4)\n    racc (1.7.3)\n\nPLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n  rails (~> 7.1)\n"
	var got []string
	for _, p := range ParseGemfileLock([]byte(lock)) {
		got = append(got, p.Name+"@"+p.Version)
	}
	if strings.Join(got, ", ") != "actioncable@7.1.2, nokogiri@1.16.0, racc@1.7.3" {
		t.Errorf("got %v", got)
	}
}

func FuzzGemspec(f *testing.F) {
	f.Add([]byte(gemspec))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseGemspec(b) //nolint:errcheck // must not panic
		ParseGemfileLock(b)
	})
}
