package cli

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/buildinfo"
	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/sign"
)

// ExitUnverifiable is the exit code of 'version --verify' when there is
// nothing to check the binary against: no signature next to it (and none
// given), or no release key in a build that is not a release.
const ExitUnverifiable = 3

func newVersionCmd() *cobra.Command {
	var (
		verify bool
		key    string
		src    sigSource
	)
	cmd := &cobra.Command{
		Use:   "version [--verify [--signature SIG | --bundle BUNDLE] [--key KEY]]",
		Short: "Print the version, commit and build date; --verify checks this binary's release signature",
		Long: `Print the version, commit and build date.

--verify checks the running binary against its release signature: the
signature file next to it (BINARY.sig, else BINARY.bundle), or --signature /
--bundle, with the release public key built into release binaries (or
--key). Exit codes: 0 verified, 1 the signature does not verify (the binary
or the signature was altered), 2 could not check (unreadable or malformed
files), 3 nothing to check against (no signature found, or a build without
a release key and no --key).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			commit, date := buildinfo.Commit, buildinfo.Date
			if commit == "" {
				commit = "unknown"
			}
			if date == "" {
				date = "unknown"
			}
			if _, err := fmt.Fprintf(cmd.OutOrStdout(), "bulwark %s\ncommit: %s\nbuilt: %s\ngo: %s %s/%s\n",
				buildinfo.Version, commit, date, runtime.Version(), runtime.GOOS, runtime.GOARCH); err != nil {
				return err
			}
			if !verify {
				return nil
			}
			return verifySelf(cmd, key, src)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&verify, "verify", false, "check this binary against its release signature")
	fl.StringVar(&key, "key", "", "public key to check with instead of the built-in release key")
	src.register(cmd, "signature of this binary")
	return cmd
}

// verifySelf checks os.Executable against its release signature.
func verifySelf(cmd *cobra.Command, key string, src sigSource) error {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return fmt.Errorf("finding this binary: %w", err)
	}
	unverifiable := func(format string, args ...any) error {
		return &policy.GateError{Code: ExitUnverifiable, Msg: "not verified: " + fmt.Sprintf(format, args...)}
	}
	v, err := releaseVerifier(cmd, key)
	if err != nil {
		return err
	}
	if v == nil {
		return unverifiable("this build of bulwark has no release key (it is not a release build); give the release's public key with --key release.pub")
	}
	if src.signature == "" && src.bundle == "" {
		if _, err := os.Stat(exe + ".sig"); err == nil {
			src.signature = exe + ".sig"
		} else if _, err := os.Stat(exe + ".bundle"); err == nil {
			src.bundle = exe + ".bundle"
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		} else {
			return unverifiable("no signature found for %s (looked for %s.sig and %s.bundle); download the release's .sig next to the binary or give --signature FILE", exe, exe, exe)
		}
	}
	where, sig, err := src.parse()
	if err != nil {
		return err
	}
	f, err := os.Open(exe)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := sign.VerifyBlob(cmd.Context(), v, exe, f, sig); err != nil {
		return gateErr(fmt.Errorf("NOT VERIFIED: %w", err))
	}
	fmt.Fprintf(cmd.OutOrStdout(), "verified: %s matches its release signature %s (key %s)\n", exe, where, v.Ref)
	return nil
}

// releaseVerifier returns the verifier of --key, else of the built-in
// release key; nil when there is neither.
func releaseVerifier(cmd *cobra.Command, key string) (*sign.Verifier, error) {
	if key != "" {
		return sign.LoadVerifier(cmd.Context(), key)
	}
	if buildinfo.ReleaseKey == "" {
		return nil, nil
	}
	der, err := base64.StdEncoding.DecodeString(buildinfo.ReleaseKey)
	if err != nil {
		return nil, fmt.Errorf("the built-in release key is not base64: %w", err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("the built-in release key: %w", err)
	}
	return sign.VerifierFromPublicKey("built-in release key", pub)
}
