package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/sign"

	// Registers awskms://, gcpkms://, azurekms:// and hashivault://.
	_ "github.com/bulwark-sec/bulwark/internal/sign/kmsproviders"
)

// registry opens the registry the signing commands talk to.
func (f *registryFlags) registry(cmd *cobra.Command) (*sign.Registry, error) {
	c, err := f.client()
	if err != nil {
		return nil, err
	}
	return sign.NewRegistry(cmd.Context(), c)
}

// cosignAliases accepts cosign's registry flags: --allow-insecure-registry
// is --insecure; --allow-http-registry is too, which also skips TLS
// verification.
func (f *registryFlags) cosignAliases(cmd *cobra.Command) {
	alias(cmd, "insecure", "allow-insecure-registry", "", "")
	alias(cmd, "insecure", "allow-http-registry", "", "bulwark's --insecure: plain HTTP and also unverified TLS")
}

// keyPassword returns the password of an encrypted key file: from
// BULWARK_PASSWORD, else COSIGN_PASSWORD, else asked on the terminal.
func keyPassword(cmd *cobra.Command) sign.PassFunc {
	return sign.EnvPassword(os.LookupEnv, func(confirm bool) ([]byte, error) {
		fd := int(os.Stdin.Fd())
		if !term.IsTerminal(fd) {
			return nil, fmt.Errorf("%w, or run on a terminal to be asked", sign.ErrNoPassword)
		}
		fmt.Fprint(cmd.ErrOrStderr(), "Enter password for private key: ")
		pw, err := term.ReadPassword(fd)
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return nil, fmt.Errorf("reading the password: %w", err)
		}
		if confirm {
			fmt.Fprint(cmd.ErrOrStderr(), "Enter password for private key again: ")
			again, err := term.ReadPassword(fd)
			fmt.Fprintln(cmd.ErrOrStderr())
			if err != nil {
				return nil, fmt.Errorf("reading the password: %w", err)
			}
			if string(again) != string(pw) {
				return nil, errors.New("the passwords do not match")
			}
		}
		return pw, nil
	})
}

// parseKV parses key=value flags.
func parseKV(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("%s %q: expected key=value", flag, kv)}
		}
		m[k] = v
	}
	return m, nil
}

// gateErr turns a verification failure into exit code 1.
func gateErr(err error) error {
	if sign.IsVerificationFailure(err) {
		return &policy.GateError{Code: policy.ExitFailed, Msg: err.Error()}
	}
	return err
}

func writeJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newSignCmd() *cobra.Command {
	var (
		reg         registryFlags
		key         string
		annotations []string
		tlogUpload  bool
		rekorURL    string
		bundle      bool
	)
	cmd := &cobra.Command{
		Use:   "sign IMAGE --key KEY",
		Short: "Sign an image's manifest digest (cosign-compatible)",
		Long: `Sign the image's manifest digest and store the signature in the registry
where cosign does (tag sha256-<digest>.sig), so 'cosign verify' accepts it.
A tag is resolved once; the digest is what is signed and printed.

KEY is a cosign key file (password from BULWARK_PASSWORD or COSIGN_PASSWORD,
else asked on a terminal), env://VAR, awskms://[ENDPOINT/]alias/NAME or a key
ARN, gcpkms://..., azurekms://..., or hashivault://KEY. See docs/sign.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ann, err := parseKV("-a", annotations)
			if err != nil {
				return err
			}
			if tlogUpload && rekorURL == "" {
				return usageError{errors.New("--tlog-upload needs --rekor-url (bulwark never contacts the public log by default)")}
			}
			if tlogUpload && bundle {
				return usageError{errors.New("--tlog-upload is supported with the tag layout only, not --new-bundle-format")}
			}
			r, err := reg.registry(cmd)
			if err != nil {
				return err
			}
			s, err := sign.LoadSigner(cmd.Context(), key, keyPassword(cmd))
			if err != nil {
				return err
			}
			o := sign.SignOptions{Annotations: ann, Bundle: bundle}
			if tlogUpload {
				o.TlogURL = rekorURL
			}
			res, err := sign.SignImage(cmd.Context(), r, args[0], s, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "signed %s (signature in %s)\n", res.Digest, res.Signature)
			fmt.Fprintln(cmd.OutOrStdout(), res.Digest)
			return nil
		},
	}
	reg.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&key, "key", "", "signing key reference (file, env://VAR, awskms://, gcpkms://, azurekms://, hashivault://)")
	fl.StringArrayVarP(&annotations, "annotations", "a", nil, "signed annotation key=value (repeatable)")
	fl.BoolVar(&tlogUpload, "tlog-upload", false, "upload the signature to the transparency log at --rekor-url")
	fl.StringVar(&rekorURL, "rekor-url", "", "transparency log (Rekor) URL for --tlog-upload")
	fl.BoolVar(&bundle, "new-bundle-format", false, "store a Sigstore bundle through the OCI 1.1 referrers API instead of the .sig tag")
	reg.cosignAliases(cmd)
	accept(cmd, "yes", "y", "")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}
