package osrelease

import (
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		path, content         string
		id, version, codename string
	}{
		{"etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n", "debian", "12", "bookworm"},
		{"usr/lib/os-release", "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n", "alpine", "3.19.1", ""},
		{"etc/os-release", "NAME=\"Ubuntu\"\nVERSION_ID='22.04'\nID=ubuntu\nUBUNTU_CODENAME=jammy\n", "ubuntu", "22.04", "jammy"},
		{"etc/debian_version", "12.5\n", "debian", "12", "bookworm"},
		{"etc/debian_version", "trixie/sid\n", "debian", "", "trixie"},
		{"etc/alpine-release", "3.18.4\n", "alpine", "3.18.4", ""},
		{"etc/redhat-release", "Red Hat Enterprise Linux release 8.9 (Ootpa)\n", "rhel", "8.9", ""},
		{"etc/centos-release", "CentOS Linux release 7.9.2009 (Core)\n", "centos", "7.9.2009", ""},
		{"etc/lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=20.04\nDISTRIB_CODENAME=focal\n", "ubuntu", "20.04", "focal"},
	} {
		os, err := Parse(tc.path, tc.content)
		if err != nil || os == nil {
			t.Errorf("%s %q: %v %v", tc.path, tc.content, os, err)
			continue
		}
		if os.ID != tc.id || os.Version != tc.version || os.Codename != tc.codename {
			t.Errorf("%s %q: got %+v", tc.path, tc.content, os)
		}
	}
	if os, err := Parse("etc/os-release", "not a key value file"); err == nil {
		t.Errorf("malformed os-release accepted: %+v", os)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n")
	f.Add("etc/redhat-release", " release 1")
	f.Add("etc/debian_version", "/")
	f.Fuzz(func(t *testing.T, p, s string) {
		for q := range files {
			Parse(q, s) //nolint:errcheck // must not panic
		}
	})
}
