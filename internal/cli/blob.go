package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/sign"
)

// maxSigFile bounds a --signature or --bundle file.
const maxSigFile = 64 << 20

// blobFlags are the flags sign-blob and attest-blob share with cosign.
type blobFlags struct {
	key, outSig, outCert, bundle string
	newBundle, tlogUpload        bool
}

func (f *blobFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.key, "key", "", "signing key reference (file, env://VAR, awskms://, gcpkms://, azurekms://, hashivault://)")
	fl.StringVar(&f.outSig, "output-signature", "", "write the signature to this file instead of stdout")
	fl.StringVar(&f.outCert, "output-certificate", "", "cosign's flag; a key has no certificate, so nothing is written")
	fl.StringVar(&f.bundle, "bundle", "", "also write a bundle file (cosign's bundle JSON, or a Sigstore bundle with --new-bundle-format)")
	fl.BoolVar(&f.newBundle, "new-bundle-format", false, "write --bundle as a Sigstore bundle v0.3")
	fl.BoolVar(&f.tlogUpload, "tlog-upload", false, "must stay false: bulwark signs blobs offline")
	accept(cmd, "yes", "y", "")
	_ = cmd.MarkFlagRequired("key")
}

// check refuses what bulwark does not do for blobs.
func (f *blobFlags) check(cmd *cobra.Command) error {
	if f.tlogUpload {
		return usageError{errors.New("--tlog-upload: bulwark signs blobs offline (no transparency log); use --tlog-upload=false")}
	}
	if f.outCert != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "--output-certificate %s: key %s has no certificate; nothing written\n", f.outCert, f.key)
	}
	return nil
}

// writeOut writes a result file (0644: signatures and bundles are public).
func writeOut(cmd *cobra.Command, what, file string, data []byte) error {
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return fmt.Errorf("writing the %s: %w", what, err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "Wrote %s to %s\n", what, file)
	return nil
}

// openBlob opens the blob argument ("-" is stdin, read whole so that it
// can be read twice).
func openBlob(arg string) (io.ReadSeeker, func(), error) {
	if arg == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, nil, fmt.Errorf("reading stdin: %w", err)
		}
		return bytes.NewReader(b), func() {}, nil
	}
	f, err := os.Open(arg)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		err = fmt.Errorf("%s is a directory, not a file", arg)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

func newSignBlobCmd() *cobra.Command {
	var (
		f   blobFlags
		b64 bool
	)
	cmd := &cobra.Command{
		Use:   "sign-blob FILE --key KEY",
		Short: "Sign a file (cosign sign-blob compatible)",
		Long: `Sign a file's bytes (SHA-256) with KEY, as 'cosign sign-blob' does: the
base64 signature goes to --output-signature (or stdout), and --bundle writes
cosign's bundle JSON, or a Sigstore bundle with --new-bundle-format. Either
bulwark verify-blob or cosign verify-blob checks them. FILE "-" is stdin.
No transparency log: --tlog-upload must be false (the default).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(cmd); err != nil {
				return err
			}
			blob, done, err := openBlob(args[0])
			if err != nil {
				return err
			}
			defer done()
			s, err := sign.LoadSigner(cmd.Context(), f.key, keyPassword(cmd))
			if err != nil {
				return err
			}
			sig, digest, err := sign.SignBlob(cmd.Context(), s, blob)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if f.bundle != "" {
				b, err := sign.BlobBundle(s.Public(), digest, sig, f.newBundle)
				if err != nil {
					return err
				}
				if err := writeOut(cmd, "bundle", f.bundle, b); err != nil {
					return err
				}
			}
			out := sig
			if b64 {
				out = []byte(base64.StdEncoding.EncodeToString(sig))
			}
			if f.outSig != "" {
				return writeOut(cmd, "signature", f.outSig, out)
			}
			if b64 {
				out = append(out, '\n')
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&b64, "b64", true, "base64-encode the signature")
	alias(cmd, "output-signature", "output", "", "cosign's deprecated spelling of --output-signature")
	return cmd
}

// sigSource is --signature and --bundle of the verify commands.
type sigSource struct {
	signature, bundle string
}

func (s *sigSource) register(cmd *cobra.Command, what string) {
	fl := cmd.Flags()
	fl.StringVar(&s.signature, "signature", "", what+" file (or its base64 content, as cosign accepts)")
	fl.StringVar(&s.bundle, "bundle", "", "bundle file: cosign's bundle JSON or a Sigstore bundle")
	accept(cmd, "insecure-ignore-tlog", "", "")
	accept(cmd, "new-bundle-format", "", "the bundle format is detected")
	fl.String("trusted-root", "", "accepted for cosign compatibility; the key is the trust root")
	_ = fl.MarkHidden("trusted-root")
}

// parse reads and parses the signature or bundle; where names it. A
// malformed one is bad input (exit code 2) naming it.
func (s *sigSource) parse() (where string, sig *sign.BlobSignature, err error) {
	where, raw, isBundle, err := s.read()
	if err != nil {
		return "", nil, err
	}
	if sig, err = sign.ParseBlobSignature(raw, isBundle); err != nil {
		return "", nil, badInput(where, err)
	}
	return where, sig, nil
}

// read returns the --signature or --bundle content, and whether it is a
// bundle.
func (s *sigSource) read() (where string, raw []byte, bundle bool, err error) {
	switch {
	case s.signature != "" && s.bundle != "":
		return "", nil, false, usageError{errors.New("give --signature or --bundle, not both")}
	case s.bundle != "":
		b, err := readLimited(s.bundle, maxSigFile)
		return s.bundle, b, true, err
	case s.signature != "":
		b, err := readLimited(s.signature, maxSigFile)
		if errors.Is(err, os.ErrNotExist) && !strings.ContainsAny(s.signature, "/\\") {
			return "--signature", []byte(s.signature), false, nil // the signature itself
		}
		return s.signature, b, false, err
	}
	return "", nil, false, usageError{errors.New("--signature FILE or --bundle FILE is required")}
}

// badInput names the file a parse error came from (exit 2).
func badInput(where string, err error) error {
	return fmt.Errorf("%s: %w", where, err)
}

func newVerifyBlobCmd() *cobra.Command {
	var (
		key string
		src sigSource
	)
	cmd := &cobra.Command{
		Use:   "verify-blob FILE --key KEY (--signature SIG | --bundle BUNDLE)",
		Short: "Verify a file's signature (cosign verify-blob compatible)",
		Long: `Verify that SIG (a base64 signature file from sign-blob) or BUNDLE (cosign's
bundle JSON or a Sigstore bundle) is a signature over FILE by KEY (a public
key file, env://VAR or a KMS URI). Offline: no transparency log is consulted
(cosign's --insecure-ignore-tlog semantics).

Exit codes: 0 verified, 1 not verified (altered file, other key), 2 could
not check (unreadable or malformed input, bad key reference).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, sig, err := src.parse()
			if err != nil {
				return err
			}
			v, err := sign.LoadVerifier(cmd.Context(), key)
			if err != nil {
				return err
			}
			blob, done, err := openBlob(args[0])
			if err != nil {
				return err
			}
			defer done()
			if err := sign.VerifyBlob(cmd.Context(), v, args[0], blob, sig); err != nil {
				return gateErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Verified OK: %s with key %s\n", args[0], key)
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "public key reference (cosign.pub, env://VAR, KMS URI)")
	src.register(cmd, "signature")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

func newAttestBlobCmd() *cobra.Command {
	var (
		f                        blobFlags
		typ, predicate, hash     string
		statementFile, outAttest string
	)
	cmd := &cobra.Command{
		Use:   "attest-blob FILE --key KEY --type TYPE --predicate FILE",
		Short: "Sign an in-toto attestation about a file (cosign attest-blob compatible)",
		Long: `Wrap the predicate in an in-toto statement whose subject is FILE's name and
SHA-256 (or --hash), sign it as a DSSE envelope with KEY, and write the
envelope to --output-signature (or stdout), as 'cosign attest-blob' does.
--bundle writes cosign's bundle JSON, or a Sigstore bundle with
--new-bundle-format. --statement FILE signs a ready statement instead.

--type is cyclonedx, spdx, spdxjson, vuln, slsaprovenance (v0.2),
slsaprovenance1, openvex, custom, or a predicate type URI. 'bulwark release
provenance' writes a SLSA v1 predicate for a build.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(cmd); err != nil {
				return err
			}
			statement, err := blobStatement(args[0], typ, predicate, hash, statementFile)
			if err != nil {
				return err
			}
			s, err := sign.LoadSigner(cmd.Context(), f.key, keyPassword(cmd))
			if err != nil {
				return err
			}
			env, err := sign.AttestBlob(cmd.Context(), s, statement)
			if err != nil {
				return err
			}
			envJSON, err := json.Marshal(env)
			if err != nil {
				return err
			}
			if f.bundle != "" {
				b, err := sign.EnvelopeBundleFile(s.Public(), env, f.newBundle)
				if err != nil {
					return err
				}
				if err := writeOut(cmd, "bundle", f.bundle, b); err != nil {
					return err
				}
			}
			if outAttest != "" {
				if err := writeOut(cmd, "attestation", outAttest, statement); err != nil {
					return err
				}
			}
			if f.outSig != "" {
				return writeOut(cmd, "signed attestation", f.outSig, append(envJSON, '\n'))
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), string(envJSON))
			return err
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&typ, "type", "custom", predicateTypeHelp)
	fl.StringVar(&predicate, "predicate", "", "the predicate file (provenance, SBOM, scan report)")
	fl.StringVar(&hash, "hash", "", "the file's SHA-256 in hex (FILE is then not read)")
	fl.StringVar(&statementFile, "statement", "", "sign this in-toto statement file as it is (instead of --predicate)")
	fl.StringVar(&outAttest, "output-attestation", "", "also write the unsigned statement to this file")
	return cmd
}

// blobStatement builds (or reads) the statement attest-blob signs.
func blobStatement(blobPath, typ, predicate, hash, statementFile string) ([]byte, error) {
	if (predicate == "") == (statementFile == "") {
		return nil, usageError{errors.New("one of --predicate FILE or --statement FILE is required")}
	}
	if statementFile != "" {
		st, err := readLimited(statementFile, maxPredicateFile)
		if err != nil {
			return nil, err
		}
		if _, err := sign.ParseStatement(st); err != nil {
			return nil, badInput(statementFile, err)
		}
		return st, nil
	}
	if _, err := sign.PredicateTypeURI(typ); err != nil {
		return nil, usageError{err}
	}
	raw, err := readLimited(predicate, maxPredicateFile)
	if err != nil {
		return nil, err
	}
	if hash == "" {
		blob, done, err := openBlob(blobPath)
		if err != nil {
			return nil, err
		}
		defer done()
		if hash, err = sign.BlobSHA256(blob); err != nil {
			return nil, fmt.Errorf("reading %s: %w", blobPath, err)
		}
	}
	st, err := sign.BlobStatement(path.Base(blobPath), strings.ToLower(hash), typ, raw, time.Now())
	if err != nil {
		return nil, badInput(predicate, err)
	}
	return st, nil
}

func newVerifyBlobAttestationCmd() *cobra.Command {
	var (
		key, typ, digest, digestAlg string
		checkClaims                 bool
		src                         sigSource
	)
	format := newFormatFlag("text", "json")
	cmd := &cobra.Command{
		Use:   "verify-blob-attestation [FILE] --key KEY (--signature SIG | --bundle BUNDLE) --type TYPE",
		Short: "Verify an in-toto attestation about a file (cosign verify-blob-attestation compatible)",
		Long: `Verify that SIG (a DSSE envelope, e.g. FILE.intoto.jsonl) or BUNDLE is
signed by KEY, that its predicate type is --type, and (--check-claims, the
default) that its subject is FILE's SHA-256 (or --digest). Offline: no
transparency log (cosign's --insecure-ignore-tlog semantics). -f json prints
the verified statement.

Exit codes: 0 verified, 1 not verified, 2 could not check.`,
		Args: cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			uri, err := sign.PredicateTypeURI(typ)
			if err != nil {
				return usageError{err}
			}
			where, raw, _, err := src.read()
			if err != nil {
				return err
			}
			att, err := sign.ParseBlobAttestation(raw)
			if err != nil {
				return badInput(where, err)
			}
			name, want := "attestation", ""
			if checkClaims {
				if name, want, err = claimDigest(args, digest, digestAlg); err != nil {
					return err
				}
			}
			v, err := sign.LoadVerifier(cmd.Context(), key)
			if err != nil {
				return err
			}
			st, err := sign.VerifyBlobAttestation(cmd.Context(), v, name, att, uri, want)
			if err != nil {
				return gateErr(err)
			}
			if format.value == "json" {
				return writeJSON(cmd, st)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Verified OK: %s attestation (%s) of %s with key %s\n", typ, st.PredicateType, name, key)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&key, "key", "", "public key reference (cosign.pub, env://VAR, KMS URI)")
	fl.StringVar(&typ, "type", "custom", predicateTypeHelp)
	fl.BoolVar(&checkClaims, "check-claims", true, "require the statement's subject to be FILE's SHA-256 (or --digest)")
	fl.StringVar(&digest, "digest", "", "the subject's digest in hex, instead of FILE")
	fl.StringVar(&digestAlg, "digestAlg", "", "the --digest algorithm (sha256)")
	src.register(cmd, "signed attestation (DSSE envelope)")
	format.register(cmd)
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

// claimDigest returns the name and SHA-256 the statement's subject must
// have: FILE's, or --digest's.
func claimDigest(args []string, digest, alg string) (string, string, error) {
	if len(args) == 1 {
		blob, done, err := openBlob(args[0])
		if err != nil {
			return "", "", err
		}
		defer done()
		h, err := sign.BlobSHA256(blob)
		if err != nil {
			return "", "", fmt.Errorf("reading %s: %w", args[0], err)
		}
		return args[0], h, nil
	}
	if digest == "" {
		return "", "", usageError{errors.New("give FILE, or --digest HEX --digestAlg sha256, or --check-claims=false")}
	}
	if alg != "sha256" {
		return "", "", usageError{fmt.Errorf("--digestAlg %q: only sha256 is supported", alg)}
	}
	if b, err := hex.DecodeString(digest); err != nil || len(b) != 32 {
		return "", "", usageError{fmt.Errorf("--digest %q is not a SHA-256 in hex", digest)}
	}
	return "sha256:" + digest, strings.ToLower(digest), nil
}
