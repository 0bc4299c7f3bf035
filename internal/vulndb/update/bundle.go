package update

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/bulwark-sec/bulwark/internal/atomicfile"
	"github.com/bulwark-sec/bulwark/internal/regular"
	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// Names of the members of a bundle ('db export'): a tar file holding the
// database, its signature and a description.
const (
	bundleDB        = "vulndb.bwdb"
	bundleSignature = "vulndb.bwdb.sig"
	bundleInfo      = "bulwark-db.json"
)

// BundleInfo describes a bundle's database (bulwark-db.json); it is for
// people and scripts, not trusted by Import.
type BundleInfo struct {
	SchemaVersion int       `json:"schemaVersion"`
	BuiltAt       time.Time `json:"builtAt"`
	Advisories    int       `json:"advisories"`
	SHA256        string    `json:"sha256"`
	Size          int64     `json:"size"`
}

// localRepository names the artifact in a signature made by Export, which
// has no registry; only the digest is checked.
const localRepository = "localhost/bulwark-db"

// Export writes the database at path, its signature and a description to
// one bundle file out, for carrying into an air-gapped network, and returns
// the bundle's SHA-256. The signature is the one kept from the pull
// (SignaturePath); with signer, a new one is made instead (a database
// built locally has none).
func Export(ctx context.Context, path, out string, signer *sign.Signer) (string, error) {
	data, meta, err := readDB(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	info := BundleInfo{SchemaVersion: meta.SchemaVersion, BuiltAt: meta.BuiltAt, Advisories: meta.Advisories, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
	var sig *Signature
	if signer != nil {
		if sig, err = signDB(ctx, data, meta, signer); err != nil {
			return "", err
		}
	} else if sig, err = loadSignature(path); err != nil {
		return "", err
	} else if sig == nil {
		return "", fmt.Errorf("the database at %s has no signature (it was built here, not pulled from a repository): sign the bundle with --key KEY, and import it with --db-key PUB", path)
	}
	sigJSON, err := json.Marshal(sig)
	if err != nil {
		return "", err
	}
	infoJSON, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = atomicfile.Write(out, 0o644, func(w io.Writer) error {
		tw := tar.NewWriter(io.MultiWriter(w, h))
		for _, m := range []struct {
			name string
			data []byte
		}{{bundleInfo, infoJSON}, {bundleSignature, sigJSON}, {bundleDB, data}} {
			if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), ModTime: meta.BuiltAt, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
				return err
			}
			if _, err := tw.Write(m.data); err != nil {
				return err
			}
		}
		return tw.Close()
	})
	if err != nil {
		return "", fmt.Errorf("writing the bundle: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// signDB signs a database as the artifact 'db push' would publish.
func signDB(ctx context.Context, data []byte, meta vulndb.Metadata, signer *sign.Signer) (*Signature, error) {
	img, err := artifact(data, meta)
	if err != nil {
		return nil, err
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	ref, err := name.NewDigest(localRepository + "@" + d.String())
	if err != nil {
		return nil, err
	}
	payload, err := sign.MakePayload(ref, nil)
	if err != nil {
		return nil, err
	}
	s, err := signer.SignMessage(bytes.NewReader(payload), options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("signing with %s: %w", signer.Ref, err)
	}
	return &Signature{Manifest: manifest, Payload: payload, Signature: s}, nil
}

// Import checks a bundle made by Export (its signature must verify with
// key and cover the database in it) and installs the database and its
// signature atomically at dst. With wantSHA256 (hex) the file must also
// have that SHA-256; a bare database file, which carries no signature, is
// accepted only then.
func Import(file, dst string, key *sign.Verifier, wantSHA256 string) (vulndb.Metadata, error) {
	meta, err := importFile(file, dst, key, wantSHA256)
	if err != nil {
		return meta, fmt.Errorf("importing %s: %w; the previous database is unchanged", file, err)
	}
	return meta, nil
}

func importFile(file, dst string, key *sign.Verifier, wantSHA256 string) (vulndb.Metadata, error) {
	f, _, err := regular.Open(file)
	if err != nil {
		return vulndb.Metadata{}, err
	}
	defer f.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return vulndb.Metadata{}, err
	}
	work, err := os.MkdirTemp(filepath.Dir(dst), ".bulwark-db-import-")
	if err != nil {
		return vulndb.Metadata{}, err
	}
	defer os.RemoveAll(work)
	whole := sha256.New()
	br := bufio.NewReader(io.TeeReader(f, whole))
	head, _ := br.Peek(512)
	tmp := filepath.Join(work, bundleDB)
	var sig *Signature
	var sha string
	var size int64
	if isTar(head) {
		if sig, sha, size, err = readBundle(br, tmp); err != nil {
			return vulndb.Metadata{}, err
		}
	} else {
		if wantSHA256 == "" {
			return vulndb.Metadata{}, errors.New("this is not a bundle made by 'bulwark db export': a bare database file carries no signature, so it is accepted only with --sha256 SUM from a source you trust")
		}
		if _, _, err := copyHashed(br, tmp, maxDBSize); err != nil {
			return vulndb.Metadata{}, err
		}
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return vulndb.Metadata{}, err
	}
	if got := hex.EncodeToString(whole.Sum(nil)); wantSHA256 != "" && got != wantSHA256 {
		return vulndb.Metadata{}, fmt.Errorf("its SHA-256 is %s, not %s: the file was damaged or replaced on the way; export it again", got, wantSHA256)
	}
	if sig != nil {
		if err := sig.Check(key, sha, size); err != nil {
			return vulndb.Metadata{}, fmt.Errorf("signature check failed: %w", err)
		}
	}
	res, err := install(tmp, dst, file, sig)
	if err != nil {
		return vulndb.Metadata{}, err
	}
	return res.Metadata, nil
}

// isTar says whether a file starts with a POSIX tar header.
func isTar(head []byte) bool {
	return len(head) >= 263 && string(head[257:262]) == "ustar"
}

// readBundle reads a bundle's members: the database into dst, the
// signature into memory, and returns the signature and the database's
// SHA-256 (hex) and size. Anything but the three known regular files is
// refused.
func readBundle(r io.Reader, dst string) (sig *Signature, sha string, size int64, err error) {
	tr := tar.NewReader(r)
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", 0, fmt.Errorf("the bundle is damaged: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg || seen[hdr.Name] {
			return nil, "", 0, fmt.Errorf("the bundle holds an unexpected member %q", hdr.Name)
		}
		seen[hdr.Name] = true
		switch hdr.Name {
		case bundleDB:
			if sha, size, err = copyHashed(tr, dst, maxDBSize); err != nil {
				return nil, "", 0, err
			}
		case bundleSignature:
			if sig, err = readSignature(tr); err != nil {
				return nil, "", 0, err
			}
		case bundleInfo:
		default:
			return nil, "", 0, fmt.Errorf("the bundle holds an unexpected member %q", hdr.Name)
		}
	}
	switch {
	case !seen[bundleDB]:
		return nil, "", 0, fmt.Errorf("the bundle holds no %s", bundleDB)
	case sig == nil:
		return nil, "", 0, fmt.Errorf("the bundle holds no signature (%s)", bundleSignature)
	}
	return sig, sha, size, nil
}

// copyHashed copies at most limit bytes from r to a new file dst and
// returns their SHA-256 (hex) and count.
func copyHashed(r io.Reader, dst string, limit int64) (string, int64, error) {
	out, err := os.Create(dst)
	if err != nil {
		return "", 0, err
	}
	defer out.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(r, limit+1))
	if err != nil {
		return "", n, err
	}
	if n > limit {
		return "", n, fmt.Errorf("the database is larger than %d bytes", limit)
	}
	return hex.EncodeToString(h.Sum(nil)), n, out.Close()
}
