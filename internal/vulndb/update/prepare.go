package update

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// PrepareOptions says how a scan gets its database.
type PrepareOptions struct {
	// Update configures the update Prepare may run; its DB is the file.
	Update Options
	// SkipUpdate and Offline use the database as it is and never touch
	// the network; without a database they fail.
	SkipUpdate, Offline bool
	// UpdateAfter is the age at which Prepare updates the database
	// (default 24h).
	UpdateAfter time.Duration
	// MaxAge is the age above which a warning is returned (default
	// vulndb.DefaultMaxAge; negative turns the warning off).
	MaxAge time.Duration
	// Now is the current time; time.Now when nil.
	Now func() time.Time
}

// Prepare opens the database for a scan: it updates it first when it is
// missing or older than UpdateAfter (unless SkipUpdate or Offline), falls
// back to the existing database with a warning when that update fails,
// and warns when the database is older than MaxAge. The warnings belong
// in the scan report.
func Prepare(ctx context.Context, o PrepareOptions) (*vulndb.DB, []string, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	path := o.Update.DB
	var warnings []string
	db, openErr := vulndb.Open(path)
	noNetwork := o.SkipUpdate || o.Offline
	if noNetwork && openErr != nil {
		if _, statErr := os.Stat(path); errors.Is(statErr, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("no vulnerability database at %s, and --skip-update/--offline forbid downloading one: run 'bulwark db update' (or 'bulwark db import FILE' on an air-gapped machine)", path)
		}
		return nil, nil, openErr
	}
	after := o.UpdateAfter
	if after == 0 {
		after = 24 * time.Hour
	}
	if !noNetwork && (openErr != nil || db.Age(now()) > after) {
		if _, err := Update(ctx, o.Update); err != nil {
			if db == nil {
				return nil, nil, err
			}
			warnings = append(warnings, fmt.Sprintf("%v; scanning with the database built %s", err, db.Metadata().BuiltAt.UTC().Format(time.RFC3339)))
		} else {
			if db != nil {
				db.Close()
			}
			if db, openErr = vulndb.Open(path); openErr != nil {
				return nil, nil, openErr
			}
		}
	}
	maxAge := o.MaxAge
	if maxAge == 0 {
		maxAge = vulndb.DefaultMaxAge
	}
	if w := vulndb.StaleWarning(db.Metadata(), now(), maxAge); w != "" {
		warnings = append(warnings, w)
	}
	return db, warnings, nil
}

// Export copies the database at path to out (for carrying into an
// air-gapped network) after checking it, and returns its SHA-256.
func Export(path, out string) (string, error) {
	db, err := vulndb.Open(path)
	if err != nil {
		return "", err
	}
	db.Close()
	return copyFile(path, out)
}

// Import checks a database file (schema, checksum, and the SHA-256 when
// wantSHA256 is not empty) and installs it atomically at dst.
func Import(file, dst, wantSHA256 string) (vulndb.Metadata, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return vulndb.Metadata{}, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".bulwark-db-*.tmp")
	if err != nil {
		return vulndb.Metadata{}, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	sum, err := copyFile(file, tmp.Name())
	if err != nil {
		return vulndb.Metadata{}, err
	}
	if wantSHA256 != "" && sum != wantSHA256 {
		return vulndb.Metadata{}, fmt.Errorf("importing %s: its SHA-256 is %s, not %s: the file was damaged or replaced on the way; export it again", file, sum, wantSHA256)
	}
	res, err := install(tmp.Name(), dst, file)
	if err != nil {
		return vulndb.Metadata{}, err
	}
	return res.Metadata, nil
}

func copyFile(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".bulwark-db-*.tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), in)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		return "", fmt.Errorf("copying %s to %s: %w", src, dst, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// KeyVerifier verifies a cosign signature (the .sig tag layout, or an OCI
// referrer bundle) made with a key: a cosign public key PEM file or a KMS
// reference, through internal/sign.
type KeyVerifier struct {
	// Key is the public key file or KMS reference.
	Key string
	// Registry configures registry access.
	Registry sign.RegistryOptions
}

// Verify implements Verifier.
func (k KeyVerifier) Verify(ctx context.Context, digest name.Digest) error {
	_, err := sign.VerifyImage(ctx, digest.String(), k.Key, sign.VerifyOptions{Registry: k.Registry})
	return err
}
