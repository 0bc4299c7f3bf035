package secrets

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
)

// Hand-written cases for the context model: the keyword names the value
// from the same statement, not from the left of an assignment. (The
// generated benchmark in bench/secrets measures; these pin the forms.)
func TestContextForms(t *testing.T) {
	sec := fakeAWSSec
	tests := []struct {
		name, content, rule, secret string
	}{
		{"sql where name", "UPDATE settings SET value = '" + sec + "' WHERE name = 's3_secret_access_key';", "aws-secret-access-key", sec},
		{"sql over lines", "UPDATE settings\n   SET value = '" + sec + "'\n WHERE name = 'S3_SECRET_ACCESS_KEY';\n", "aws-secret-access-key", sec},
		{"php define", "define('S3_SECRET_ACCESS_KEY', '" + sec + "');", "aws-secret-access-key", sec},
		{"python tuple", `("aws_secret_access_key", "` + sec + `"),`, "aws-secret-access-key", sec},
		{"yaml name value", "env:\n  - name: AWS_SECRET_ACCESS_KEY\n    value: \"" + sec + "\"\n", "aws-secret-access-key", sec},
		{"json name value", `{"name": "AWS_SECRET_ACCESS_KEY", "value": "` + sec + `"}`, "aws-secret-access-key", sec},
		{"cfn parameter", "- ParameterKey: AwsSecretKey\n  ParameterValue: " + sec + "\n", "aws-secret-access-key", sec},
		{"plist", "<key>aws_secret_access_key</key>\n<string>" + sec + "</string>", "aws-secret-access-key", sec},
		{"xml element", "<AwsSecretKey>" + sec + "</AwsSecretKey>", "aws-secret-access-key", sec},
		{"cli", "aws configure set aws_secret_access_key " + sec, "aws-secret-access-key", sec},
		{"env index", `os.environ["AWS_SECRET_ACCESS_KEY"] = "` + sec + `"`, "aws-secret-access-key", sec},
		{"password flag", "mysqladmin --admin-password Sm7p!Relay#42 status", "generic-password", "Sm7p!Relay#42"},
		{"cli flag", "deploy --aws-secret-access-key " + sec + " --region eu-west-1", "aws-secret-access-key", sec},
		{"account dashed yaml", `aws_account_id: "4829-1037-5561"`, "aws-account-id", "4829-1037-5561"},
		{"account dashed hcl", `aws_account = "4829-1037-5561"`, "aws-account-id", "4829-1037-5561"},
		{"account export", `export ACCOUNT_ID="482910375561"`, "aws-account-id", "482910375561"},
		{"account camel dashed", `const awsAccountId = '4829-1037-5561';`, "aws-account-id", "4829-1037-5561"},
		{"account php define", `define('AWS_ACCOUNT', '482910375561');`, "aws-account-id", "482910375561"},
		{"sql password", "UPDATE settings SET value = 'Sm7p!Relay#42' WHERE name = 'smtp_password';", "generic-password", "Sm7p!Relay#42"},
		{"sql then another", "UPDATE settings SET value = 'Sm7p!Relay#42' WHERE name = 'smtp_password';\nUPDATE settings SET value = 'ab' WHERE name = 'admin_password';", "generic-password", "Sm7p!Relay#42"},
		{"sql insert password", "INSERT INTO settings (name, value) VALUES ('smtp_password', 'Sm7p!Relay#42');", "generic-password", "Sm7p!Relay#42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := scan(t, tt.content)
			if len(ms) != 1 || ms[0].Rule.ID != tt.rule || ms[0].Secret != tt.secret {
				var got []string
				for _, m := range ms {
					got = append(got, m.Rule.ID+"="+m.Secret)
				}
				t.Fatalf("got %v, want %s=%s", got, tt.rule, tt.secret)
			}
		})
	}
}

// Bait: what the context model must not report.
func TestContextBait(t *testing.T) {
	for _, content := range []string{
		"UPDATE settings SET value = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' WHERE name = 's3_secret_access_key';",
		`aws_account_id: "123456789012"`,
		`aws_account_id = "1111-2222-3333"`,
		`account_id: 111122223333`,
		"- name: AWS_SECRET_ACCESS_KEY\n  valueFrom:\n    secretKeyRef: {name: aws, key: secret}\n",
		`cache_key = "da39a3ee5e6b4b0d3255bfef95601890afd80709"`, // a SHA-1
		`secret_id: "3f2504e0-4f89-11d3-9a0c-0305e82c3301"`,      // a UUID
		"SELECT value FROM settings WHERE name = 'smtp_password';",
		"\"integrity\": \"sha512-YD5IQfDoGgRmB65BC8DyG6IIif2CZsc2xRmw2KV7sk\",\nUPDATE app_settings\n   SET value = 'ab'\n WHERE name = 'smtp_password';",
		`log.Printf("aws_secret_access_key rotated for %s", user)`,
		"the secret key is kept in the vault and never written down anywhere else",
	} {
		if ms := scan(t, content); len(ms) != 0 {
			t.Errorf("%q: reported %v", content, ruleIDs(ms))
		}
	}
}

// genRSA makes a real PKCS #1 private key in PEM.
func genRSA(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

// fakeOpenSSH is shaped like an unencrypted OpenSSH key: its body starts
// with runs of A (zero bytes) that the placeholder filter would refuse.
func fakeOpenSSH() string {
	raw := append([]byte("openssh-key-v1\x00\x00\x00\x00\x04none\x00\x00\x00\x04none\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x33"), []byte(strings.Repeat("k3Yb0dy-Zq9Xw2", 20))...)
	b := base64.StdEncoding.EncodeToString(raw)
	var sb strings.Builder
	sb.WriteString("-----BEGIN OPENSSH PRIVATE KEY-----\n")
	for len(b) > 70 {
		sb.WriteString(b[:70] + "\n")
		b = b[70:]
	}
	sb.WriteString(b + "\n-----END OPENSSH PRIVATE KEY-----\n")
	return sb.String()
}

func TestPrivateKeySpans(t *testing.T) {
	rsaKey := genRSA(t)
	rsaLines := strings.Count(rsaKey, "\n")
	sshKey := fakeOpenSSH()
	sshLines := strings.Count(sshKey, "\n")
	escaped, _ := json.Marshal(map[string]string{"key": rsaKey})
	tests := []struct {
		name, content, rule        string
		line, col, endLine, endCol int
	}{
		{"pem file", "# deploy key\n" + rsaKey, "private-key-rsa", 2, 1, 1 + rsaLines, 29},
		{"openssh", "\n" + sshKey, "private-key-openssh", 2, 1, 1 + sshLines, 33},
		{"json escaped", "x\n" + string(escaped) + "\n", "private-key-rsa", 2, 9, 2, len(escaped) - 4},
		{"yaml block", "tls:\n  key: |\n    " + strings.ReplaceAll(strings.TrimSuffix(rsaKey, "\n"), "\n", "\n    ") + "\n", "private-key-rsa", 3, 5, 2 + rsaLines, 33},
		{"go strings", "const k = \"" + strings.ReplaceAll(strings.TrimSuffix(rsaKey, "\n"), "\n", "\\n\" +\n\t\"") + "\"\n", "private-key-rsa", 1, 12, rsaLines, 31},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := scan(t, tt.content)
			if len(ms) != 1 || ms[0].Rule.ID != tt.rule {
				t.Fatalf("rules %v, want [%s]", ruleIDs(ms), tt.rule)
			}
			m := ms[0]
			if m.Line != tt.line || m.Column != tt.col || m.EndLine != tt.endLine || m.EndColumn != tt.endCol {
				t.Errorf("span %d:%d-%d:%d, want %d:%d-%d:%d", m.Line, m.Column, m.EndLine, m.EndColumn, tt.line, tt.col, tt.endLine, tt.endCol)
			}
		})
	}
}

func TestPrivateKeyBait(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.PublicKey)}))
	for _, content := range []string{
		pub,
		"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----\n",
		"-----BEGIN RSA PRIVATE KEY-----\n" + strings.Repeat("EXAMPLEKEYEXAMPLEKEY", 8) + "\n-----END RSA PRIVATE KEY-----\n",
		"if strings.HasPrefix(s, \"-----BEGIN RSA PRIVATE KEY-----\") {\n\treturn parse(s) // until -----END RSA PRIVATE KEY-----\n}\n",
	} {
		if ms := scan(t, content); len(ms) != 0 {
			t.Errorf("%q: reported %v", content[:40], ruleIDs(ms))
		}
	}
}

func TestGCPServiceAccountIsOneFinding(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	keyID := "4f1c" + strings.Repeat("9a2e7b3d", 4) + "c0d1"
	sa := map[string]string{
		"type": "service_account", "project_id": "demo-prod", "private_key_id": keyID,
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "ci@demo-prod.iam.gserviceaccount.com",
	}
	pretty, _ := json.MarshalIndent(sa, "", "  ")
	// encoding/json sorts keys: private_key comes before private_key_id.
	for name, content := range map[string]string{"pretty": string(pretty), "as a string": "GOOGLE_CREDENTIALS=" + strings.ReplaceAll(compactJSON(t, pretty), `"`, `\"`)} {
		ms := scan(t, content)
		if len(ms) != 1 || ms[0].Rule.ID != "gcp-service-account-key" || ms[0].Secret != keyID {
			t.Errorf("%s: got %v, want one gcp-service-account-key with the key ID", name, ruleIDs(ms))
		}
	}
}

func compactJSON(t *testing.T, b []byte) string {
	var v map[string]string
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func TestPuTTYKey(t *testing.T) {
	body := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("pUtTy-pr1vate-k3y-", 12)))
	var priv []string
	for len(body) > 64 {
		priv = append(priv, body[:64])
		body = body[64:]
	}
	priv = append(priv, body)
	content := "PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\nComment: deploy\nPublic-Lines: 2\nAAAAB3NzaC1yc2EAAAADAQABAAABAQ\nC7Vb3xK9mQ2Lr8Tz1Wc4Ny6Pd0Hf5Js\nPrivate-Lines: " +
		string(rune('0'+len(priv))) + "\n" + strings.Join(priv, "\n") + "\nPrivate-MAC: 8f2a\n"
	ms := scan(t, content)
	if len(ms) != 1 || ms[0].Rule.ID != "private-key-putty" || ms[0].Line != 1 || ms[0].EndLine != 8+len(priv) {
		t.Fatalf("got %+v, want one PuTTY key on lines 1-%d", ms, 8+len(priv))
	}
}

func TestIsNameField(t *testing.T) {
	for before, want := range map[string]bool{
		"- name: ": true, `{"name": `: true, "  ParameterKey: ": true, `<add key=`: true, "<key>": true, "Name => ": true,
		"username: ": false, "x = ": false, "": false, "key2: ": false, "k3y: ": false, "value: ": false,
	} {
		if got := isNameField([]byte(before)); got != want {
			t.Errorf("isNameField(%q) = %v, want %v", before, got, want)
		}
	}
}
