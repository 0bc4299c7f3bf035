package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// A block is what one plant writes: its lines, and which of them (0-based,
// inclusive) hold the secret, for the scorer.
type block struct {
	lines      []string
	first, end int
}

func one(line string) block { return block{lines: []string{line}} }

// name is an identifier made of words, written the way one language or
// another would write it.
type name []string

func (n name) style(g *gen) string {
	switch g.r.IntN(6) {
	case 0:
		return strings.Join(n, "_")
	case 1:
		return strings.ToUpper(strings.Join(n, "_"))
	case 2, 3:
		s := n[0]
		for _, w := range n[1:] {
			s += strings.ToUpper(w[:1]) + w[1:]
		}
		if g.r.IntN(3) == 0 {
			s = strings.ToUpper(s[:1]) + s[1:]
		}
		return s
	case 4:
		return strings.Join(n, "-")
	default:
		return strings.Join(n, ".")
	}
}

// ident is a name usable as a variable in most languages.
func (n name) ident(g *gen) string {
	s := n.style(g)
	return strings.NewReplacer("-", "_", ".", "_").Replace(s)
}

// assignment writes name = value in one of a dozen languages' syntaxes.
// The value is on the returned block's secret line.
func (g *gen) assignment(n name, value string) block {
	id := n.ident(g)
	up := strings.ToUpper(strings.Join(n, "_"))
	ind := strings.Repeat(" ", 2*g.r.IntN(3))
	forms := []func() block{
		func() block { return one(ind + id + ` := "` + value + `"`) },                                  // Go
		func() block { return one(ind + `const ` + id + ` = "` + value + `"`) },                        // Go, JS
		func() block { return one(ind + id + ` = "` + value + `"`) },                                   // Python, Ruby, HCL, TOML
		func() block { return one(ind + id + ` = '` + value + `'`) },                                   // Python, Ruby
		func() block { return one(ind + `const ` + id + ` = '` + value + `';`) },                       // JS/TS
		func() block { return one(ind + `let ` + id + ` = "` + value + `";`) },                         // Rust, JS
		func() block { return one(ind + `private static final String ` + up + ` = "` + value + `";`) }, // Java
		func() block { return one(ind + `var ` + id + ` = @"` + value + `";`) },                        // C#
		func() block { return one(ind + `$` + id + ` = '` + value + `';`) },                            // PHP
		func() block { return one(ind + `'` + id + `' => '` + value + `',`) },                          // PHP array
		func() block { return one(ind + `:` + id + ` => "` + value + `",`) },                           // Ruby hash
		func() block { return one(`export ` + up + `=` + value) },                                      // shell
		func() block { return one(up + `="` + value + `"`) },                                           // .env, shell
		func() block { return one(up + `=` + value) },                                                  // .env
		func() block { return one(ind + n.style(g) + `: ` + value) },                                   // YAML
		func() block { return one(ind + n.style(g) + `: "` + value + `"`) },                            // YAML
		func() block { return one(ind + `"` + n.style(g) + `": "` + value + `",`) },                    // JSON
		func() block { return one(strings.Join(n, ".") + `=` + value) },                                // Java properties
		func() block { return one(`ENV ` + up + `=` + value) },                                         // Dockerfile
		func() block { return one(ind + id + `: "` + value + `",`) },                                   // JS object, Go struct
		func() block { return one(ind + `val ` + id + ` = "` + value + `"`) },                          // Kotlin, Scala
		func() block { return one(ind + `os.environ["` + up + `"] = "` + value + `"`) },                // Python
		func() block { return one(ind + `process.env.` + up + ` = "` + value + `";`) },                 // JS
	}
	return forms[g.r.IntN(len(forms))]()
}

// named writes a value that only its name makes a secret, in the forms
// where the name is not on the left of an assignment too: PHP define, a
// SQL settings row, a YAML or JSON name/value pair, XML, a CLI flag, a tuple.
func (g *gen) named(n name, value string) block {
	up := strings.ToUpper(strings.Join(n, "_"))
	low := strings.Join(n, "_")
	ind := strings.Repeat(" ", 2*g.r.IntN(3))
	forms := []func() block{
		func() block { return g.assignment(n, value) },
		func() block { return g.assignment(n, value) },
		func() block { return one(`define('` + up + `', '` + value + `');`) },
		func() block {
			return one(`UPDATE settings SET value = '` + value + `' WHERE name = '` + low + `';`)
		},
		func() block {
			return block{lines: []string{"UPDATE app_settings", "   SET value = '" + value + "'", " WHERE name = '" + low + "';"}, first: 1, end: 1}
		},
		func() block {
			return one(`INSERT INTO settings (name, value) VALUES ('` + low + `', '` + value + `');`)
		},
		func() block {
			return block{lines: []string{ind + "- name: " + up, ind + "  value: \"" + value + "\""}, first: 1, end: 1}
		},
		func() block { return one(ind + `{"name": "` + up + `", "value": "` + value + `"},`) },
		func() block {
			return block{lines: []string{ind + "- ParameterKey: " + name(n).style(g), ind + "  ParameterValue: " + value}, first: 1, end: 1}
		},
		func() block { return one(ind + `<` + up + `>` + value + `</` + up + `>`) },
		func() block { return one(ind + `<add key="` + n.style(g) + `" value="` + value + `" />`) },
		func() block { return one(`deploy --` + strings.Join(n, "-") + ` ` + value + ` --verbose`) },
		func() block { return one(ind + `("` + low + `", "` + value + `"),`) },
	}
	return forms[g.r.IntN(len(forms))]()
}

// used writes a token where code uses it without naming it.
func (g *gen) used(value string) block {
	forms := []string{
		`client := api.NewClient("%s")`,
		`curl -H "Authorization: Bearer %s" https://api.internal/v1/me`,
		`    headers = {"Authorization": "token %s"}`,
		`  token: %s`,
		`auth = ("%s",)`,
		`new Client({ auth: '%s' });`,
	}
	return one(fmt.Sprintf(forms[g.r.IntN(len(forms))], value))
}

func (g *gen) either(n name, value string) block {
	if g.r.IntN(3) == 0 {
		return g.used(value)
	}
	return g.assignment(n, value)
}

// b64Mixed is a base64 string of n characters with upper and lower case
// and a digit, as generated keys have.
func (g *gen) b64Mixed(n int) string {
	for {
		s := g.s(n, b64)
		if strings.ContainsAny(s, upper) && strings.ContainsAny(s, lower) && strings.ContainsAny(s, digits) {
			return s
		}
	}
}

// pemBody is n lines of a private key body of width w starting with prefix.
func (g *gen) pemBody(prefix string, n, w int) []string {
	b := prefix + g.s(n*w-len(prefix), b64)
	var out []string
	for len(b) > 0 {
		k := min(w, len(b))
		out = append(out, b[:k])
		b = b[k:]
	}
	return out
}

// privateKey writes a private key of one of the formats, in a file, in a
// YAML block scalar, in a code string or in one-line JSON.
func (g *gen) privateKey() block {
	formats := []struct{ label, prefix string }{
		{"RSA PRIVATE KEY", "MIIEpAIBAAKCAQEA"},
		{"EC PRIVATE KEY", "MHcCAQEEI"},
		{"PRIVATE KEY", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"},
		{"ENCRYPTED PRIVATE KEY", "MIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI"},
		{"OPENSSH PRIVATE KEY", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"},
		{"DSA PRIVATE KEY", "MIIBuwIBAAKBgQ"},
	}
	f := formats[g.r.IntN(len(formats))]
	width := 64
	if f.label == "OPENSSH PRIVATE KEY" {
		width = 70
	}
	body := g.pemBody(f.prefix, 6+g.r.IntN(8), width)
	pem := append(append([]string{"-----BEGIN " + f.label + "-----"}, body...), "-----END "+f.label+"-----")
	switch g.r.IntN(5) {
	case 0: // YAML block scalar
		out := []string{"tls:", "  key: |"}
		for _, l := range pem {
			out = append(out, "    "+l)
		}
		return block{lines: out, first: 2, end: len(out) - 1}
	case 1: // one-line JSON, escaped newlines
		b, _ := json.Marshal(map[string]string{"private_key": strings.Join(pem, "\n") + "\n"})
		return one(string(b))
	case 2: // code strings, concatenated
		out := []string{`key := "` + pem[0] + `\n" +`}
		for _, l := range pem[1 : len(pem)-1] {
			out = append(out, `	"`+l+`\n" +`)
		}
		out = append(out, `	"`+pem[len(pem)-1]+`\n"`)
		return block{lines: out, end: len(out) - 1}
	default:
		return block{lines: pem, end: len(pem) - 1}
	}
}

func (g *gen) putty() block {
	pub := g.pemBody("AAAAB3NzaC1yc2EAAAADAQABAAABAQ", 6, 64)
	priv := g.pemBody("AAABAQ", 14, 64)
	out := []string{"PuTTY-User-Key-File-3: ssh-rsa", "Encryption: none", "Comment: deploy@ci", fmt.Sprintf("Public-Lines: %d", len(pub))}
	out = append(out, pub...)
	out = append(out, fmt.Sprintf("Private-Lines: %d", len(priv)))
	out = append(out, priv...)
	out = append(out, "Private-MAC: "+g.s(64, hexch))
	return block{lines: out, end: len(out) - 1}
}

func (g *gen) serviceAccount() block {
	keyID := g.s(40, hexch)
	pem := "-----BEGIN PRIVATE KEY-----\n" + strings.Join(g.pemBody("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", 25, 64), "\n") + "\n-----END PRIVATE KEY-----\n"
	project := g.s(8, lower) + "-prod"
	if g.r.IntN(2) == 0 {
		b, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": project, "private_key_id": keyID, "private_key": pem,
			"client_email": "ci@" + project + ".iam.gserviceaccount.com"})
		return one("GOOGLE_CREDENTIALS='" + string(b) + "'")
	}
	pk, _ := json.Marshal(pem)
	out := []string{"{", `  "type": "service_account",`, `  "project_id": "` + project + `",`, `  "private_key_id": "` + keyID + `",`,
		`  "private_key": ` + string(pk) + `,`, `  "client_email": "ci@` + project + `.iam.gserviceaccount.com",`, `  "client_id": "` + g.s(21, digits) + `"`, "}"}
	return block{lines: out, first: 3, end: 4}
}

// secretKinds make one block holding a synthetic secret of a kind both
// tools are expected to support, written in varied syntaxes.
func (g *gen) secretKinds() map[string]func() block {
	names := func(ns ...name) name { return ns[g.r.IntN(len(ns))] }
	return map[string]func() block{
		"aws-access-key-id": func() block {
			return g.either(names(name{"aws", "access", "key", "id"}, name{"access", "key", "id"}, name{"aws", "key"}), "AKIA"+g.s(16, b32))
		},
		"aws-secret-access-key": func() block {
			return g.named(names(name{"aws", "secret", "access", "key"}, name{"secret", "access", "key"}, name{"s3", "secret", "access", "key"},
				name{"aws", "secret", "key"}, name{"secret", "key"}, name{"aws", "secret"}), g.b64Mixed(40))
		},
		"aws-account-id": func() block {
			v := g.s(12, digits)
			if g.r.IntN(2) == 0 {
				v = v[:4] + "-" + v[4:8] + "-" + v[8:]
			}
			return g.named(names(name{"aws", "account", "id"}, name{"account", "id"}, name{"aws", "account"}, name{"aws", "account", "number"}), v)
		},
		"github-pat":      func() block { return g.either(name{"github", "token"}, "ghp_"+g.s(36, alnum)) },
		"github-fine-pat": func() block { return g.either(name{"gh", "token"}, "github_pat_"+g.s(22, alnum)+"_"+g.s(59, alnum)) },
		"gitlab-pat":      func() block { return g.either(name{"gitlab", "token"}, "glpat-"+g.s(20, alnum)) },
		"slack-bot-token": func() block {
			return g.either(name{"slack", "bot", "token"}, "xoxb-"+g.s(11, digits)+"-"+g.s(12, digits)+"-"+g.s(24, alnum))
		},
		"slack-webhook": func() block {
			return g.assignment(name{"slack", "webhook", "url"}, "https://hooks.slack.com/services/T"+g.s(8, upper+digits)+"/B"+g.s(8, upper+digits)+"/"+g.s(24, alnum))
		},
		"stripe-secret":    func() block { return g.either(name{"stripe", "key"}, "sk_live_"+g.s(24, alnum)) },
		"sendgrid-api-key": func() block { return g.either(name{"sendgrid", "api", "key"}, "SG."+g.s(22, alnum)+"."+g.s(43, alnum)) },
		"gcp-api-key":      func() block { return g.either(name{"google", "api", "key"}, "AIza"+g.s(35, alnum)) },
		"gcp-service-account": func() block {
			return g.serviceAccount()
		},
		"npm-token": func() block {
			if g.r.IntN(2) == 0 {
				return one(`//registry.npmjs.org/:_authToken=npm_` + g.s(36, alnum))
			}
			return g.either(name{"npm", "token"}, "npm_"+g.s(36, alnum))
		},
		"pypi-token":  func() block { return g.either(name{"pypi", "token"}, "pypi-AgEIcHlwaS5vcmc"+g.s(70, alnum)) },
		"private-key": func() block { return g.privateKey() },
		"putty-key":   func() block { return g.putty() },
		"jwt": func() block {
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
			p := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"sub":"%s","iat":%d}`, g.s(10, digits), 1700000000+g.r.IntN(1e6))))
			return g.either(name{"id", "token"}, h+"."+p+"."+g.s(43, alnum+"-_"))
		},
		"database-url": func() block {
			schemes := []string{"postgres", "postgresql", "mysql", "mongodb+srv", "redis", "amqp"}
			return g.assignment(name{"database", "url"}, schemes[g.r.IntN(len(schemes))]+"://app:"+g.s(16, alnum)+"@db.internal:5432/app")
		},
		"generic-password": func() block {
			return g.named(names(name{"db", "password"}, name{"password"}, name{"smtp", "password"}, name{"admin", "passwd"}, name{"ldap", "bind", "password"}),
				g.s(6, alnum)+g.s(1, "!#%&*")+g.s(8, alnum))
		},
		"twilio-api-key": func() block { return g.assignment(name{"twilio", "api", "key"}, "SK"+g.s(32, hexch)) },
		"azure-storage": func() block {
			return g.assignment(name{"storage", "connection"}, "DefaultEndpointsProtocol=https;AccountName="+g.s(10, lower)+";AccountKey="+g.s(86, b64)+"==;EndpointSuffix=core.windows.net")
		},
		"docker-config-auth": func() block {
			auth := base64.StdEncoding.EncodeToString([]byte("ci-bot:" + g.s(20, alnum)))
			return one(`{"auths": {"registry.example.io": {"auth": "` + auth + `"}}}`)
		},
		"age-secret-key": func() block { return one("AGE-SECRET-KEY-1" + g.s(58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L")) },
		"dockerhub-pat":  func() block { return g.either(name{"docker", "hub", "token"}, "dckr_pat_"+g.s(27, alnum)) },
		"openai-api-key": func() block {
			return g.either(name{"openai", "api", "key"}, "sk-proj-"+g.s(40, alnum)+"T3BlbkFJ"+g.s(40, alnum))
		},
	}
}

// baitKinds make blocks that look like secrets but are not: documentation
// examples, placeholders, references, hashes, UUIDs, public keys and
// certificates, publishable keys, test fixtures.
func (g *gen) baitKinds() map[string]func() block {
	return map[string]func() block{
		"aws-example-key": func() block { return g.assignment(name{"aws", "access", "key", "id"}, "AKIAIOSFODNN7EXAMPLE") },
		"aws-example-sec": func() block {
			return g.named(name{"aws", "secret", "access", "key"}, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
		},
		"aws-example-account": func() block {
			ids := []string{"123456789012", "111122223333", "1234-5678-9012", "444455556666"}
			return g.named(name{"aws", "account", "id"}, ids[g.r.IntN(len(ids))])
		},
		"env-reference": func() block {
			refs := []string{"${DB_PASSWORD}", "$DB_PASSWORD", "%(password)s", "#{ENV['DB_PASSWORD']}"}
			return g.assignment(name{"db", "password"}, refs[g.r.IntN(len(refs))])
		},
		"template-ref": func() block { return g.assignment(name{"api", "key"}, "{{ .Values.apiKey }}") },
		"angle-filler": func() block { return g.assignment(name{"api", "token"}, "<your-token-here>") },
		"xxx-filler":   func() block { return g.assignment(name{"secret"}, strings.Repeat("x", 24)) },
		"same-char":    func() block { return one(`GITHUB_TOKEN=ghp_` + strings.Repeat("a", 36)) },
		"changeme": func() block {
			ws := []string{"changeme", "CHANGE_ME", "REPLACE_ME", "your-password-here", "password"}
			return g.named(name{"password"}, ws[g.r.IntN(len(ws))])
		},
		"function-call":    func() block { return one(`password = getPasswordFromVault(ctx, name)`) },
		"env-lookup":       func() block { return one(`aws_secret_access_key = os.environ["AWS_SECRET_ACCESS_KEY"]`) },
		"placeholder-conn": func() block { return one(`postgres://user:password@localhost/db`) },
		"sha1-hash": func() block {
			return g.assignment(name{"commit", "sha"}, g.s(40, hexch))
		},
		"sha256-hash": func() block { return g.assignment(name{"checksum"}, g.s(64, hexch)) },
		"uuid": func() block {
			u := g.s(8, hexch) + "-" + g.s(4, hexch) + "-4" + g.s(3, hexch) + "-a" + g.s(3, hexch) + "-" + g.s(12, hexch)
			return g.assignment(name{"request", "id"}, u)
		},
		"public-key": func() block {
			pem := append(append([]string{"-----BEGIN PUBLIC KEY-----"}, g.pemBody("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 6, 64)...), "-----END PUBLIC KEY-----")
			return block{lines: pem, end: len(pem) - 1}
		},
		"certificate": func() block {
			pem := append(append([]string{"-----BEGIN CERTIFICATE-----"}, g.pemBody("MIIDdzCCAl+gAwIBAgIE", 10, 64)...), "-----END CERTIFICATE-----")
			return block{lines: pem, end: len(pem) - 1}
		},
		"ssh-public-key": func() block {
			return one("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + g.s(43, b64) + " deploy@ci")
		},
		"stripe-publishable": func() block { return g.assignment(name{"stripe", "publishable", "key"}, "pk_live_"+g.s(24, alnum)) },
		"test-fixture": func() block {
			return g.assignment(name{"test", "password"}, "test")
		},
		"order-number": func() block { return g.assignment(name{"order", "id"}, g.s(12, digits)) },
		"truncated-key": func() block {
			return block{lines: []string{"-----BEGIN RSA PRIVATE KEY-----", "MIIEpAIBAAKCAQEA...", "-----END RSA PRIVATE KEY-----"}, end: 2}
		},
	}
}
