// Package defaultdb names the published vulnerability database: the
// repositories bulwark pulls it from when nothing else is configured, in
// the order they are tried, and the public key, embedded in the binary,
// that its signature must verify with.
package defaultdb

import (
	"context"
	_ "embed"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/sign"
)

// Repositories are the default database repositories, tried in order: the
// project's registry, then a mirror. The tag (the schema version) is
// added by the updater.
var Repositories = []string{
	"ghcr.io/bulwark-sec/bulwark-db",
	"public.ecr.aws/bulwark-sec/bulwark-db",
}

// PublicKey is the PEM public key the published database is signed with.
//
//go:embed bulwark-db.pub
var PublicKey []byte

// KeyName names the embedded key in messages.
const KeyName = "the embedded bulwark-db key"

// Verifier returns a verifier for the embedded public key.
func Verifier() (*sign.Verifier, error) {
	pub, err := sign.ParsePublicKey(PublicKey)
	if err != nil {
		return nil, err
	}
	return sign.VerifierFromPublicKey(KeyName, pub)
}

// ResolveRepositories returns the repositories to pull from: given, else
// env (the comma-separated $BULWARK_DB_REPOSITORY), else Repositories.
func ResolveRepositories(given []string, env string) []string {
	if len(given) > 0 {
		return given
	}
	var out []string
	for _, r := range strings.Split(env, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	if len(out) > 0 {
		return out
	}
	return Repositories
}

// LoadKey loads the key a database's signature must verify with: ref (a
// public key file, env://VAR or KMS reference), else env ($BULWARK_DB_KEY),
// else the embedded key.
func LoadKey(ctx context.Context, ref, env string) (*sign.Verifier, error) {
	if ref == "" {
		ref = env
	}
	if ref == "" {
		return Verifier()
	}
	return sign.LoadVerifier(ctx, ref)
}
