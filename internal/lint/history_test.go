package lint

import "testing"

func TestParseHistory(t *testing.T) {
	cases := []struct {
		in        string
		cmd, args string
	}{
		{"/bin/sh -c #(nop) ADD file:4b03b5f551e3 in / ", "ADD", "file:4b03b5f551e3 in /"},
		{"/bin/sh -c #(nop)  CMD [\"bash\"]", "CMD", "[\"bash\"]"},
		{"/bin/sh -c apt-get update && apt-get install -y curl", "RUN", "apt-get update && apt-get install -y curl"},
		{"|2 A=b C=d /bin/sh -c make all", "RUN", "make all"},
		{"ADD test.txt /tmp/test.txt # buildkit", "ADD", "test.txt /tmp/test.txt"},
		{"RUN /bin/sh -c apk add curl # buildkit", "RUN", "apk add curl"},
		{"RUN |2 A=b C=d /bin/sh -c echo $A # buildkit", "RUN", "echo $A"},
		{"COPY --chown=1000 . /app # buildkit", "COPY", "--chown=1000 . /app"},
		{"USER app", "USER", "app"},
		{"RUN [\"apt-get\", \"update\"] # buildkit", "RUN", "[\"apt-get\", \"update\"]"},
		{"/bin/bash -c set -eux; apt-get update", "RUN", "set -eux; apt-get update"},
		{"bazel build", "", "bazel build"},
		{"", "", ""},
	}
	for _, tc := range cases {
		got := ParseHistory(tc.in)
		if got.Cmd != tc.cmd || got.Args != tc.args {
			t.Errorf("ParseHistory(%q) = %q %q, want %q %q", tc.in, got.Cmd, got.Args, tc.cmd, tc.args)
		}
	}
}

func TestHasCommand(t *testing.T) {
	cases := []struct {
		run   string
		words []string
		want  bool
	}{
		{"apt-get update && apt-get install -y curl", []string{"apt-get", "install"}, true},
		{"apt-get -y -o Dpkg::Options::=--force-confold install x", []string{"apt-get", "install"}, true},
		{"apt-get -o Acquire::Retries=3 install x", []string{"apt-get", "install"}, true},
		{"echo apt-get install", []string{"apt-get", "install"}, false},
		{"apk add --no-cache update-notifier", []string{"apk", "update"}, false},
		{"DEBIAN_FRONTEND=noninteractive apt-get update", []string{"apt-get", "update"}, true},
		{"sudo apk --update add x", []string{"apk", "add"}, true},
		{"/usr/bin/apt-get update; true", []string{"apt-get", "update"}, true},
	}
	for _, tc := range cases {
		if got := hasCommand(tc.run, tc.words...); got != tc.want {
			t.Errorf("hasCommand(%q, %v) = %v, want %v", tc.run, tc.words, got, tc.want)
		}
	}
}

func TestCredentialKey(t *testing.T) {
	for k, want := range map[string]bool{
		"AWS_SECRET_ACCESS_KEY": true, "DB_PASSWORD": true, "GITHUB_TOKEN": true, "api-key": true, "STRIPE_API_KEY": true,
		"GPG_KEY": false, "PATH": false, "KEYRING": false, "PASSPORT": false, "TOKENIZER_MODEL": false, "PRIVATE_KEY": true,
	} {
		if got := credentialKey(k, nil); got != want {
			t.Errorf("credentialKey(%q) = %v, want %v", k, got, want)
		}
	}
	// Dockle's --sensitive-word adds words, matched as whole parts.
	for k, want := range map[string]bool{"VAULT_ROLE": true, "vault-addr": true, "VAULTED": false, "DB_PASSWORD": true} {
		if got := credentialKey(k, []string{"vault"}); got != want {
			t.Errorf("credentialKey(%q, vault) = %v, want %v", k, got, want)
		}
	}
}

func FuzzParseHistory(f *testing.F) {
	for _, s := range []string{"/bin/sh -c #(nop) ADD file:x in /", "|3 a=b /bin/sh -c x", "RUN |2 A=b /bin/sh -c apt-get update # buildkit", "|", "| -c", "RUN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in := ParseHistory(s)
		if in.Cmd != "" && !instructions[in.Cmd] {
			t.Fatalf("unknown instruction %q from %q", in.Cmd, s)
		}
		var findings int
		checkRun(in.Args, func(Check, string) { findings++ })
		_ = hasCommand(s, "apt-get", "install")
	})
}
