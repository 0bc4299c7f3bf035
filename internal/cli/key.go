package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/sign"
)

func newKeyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Create signing keys and print public keys (cosign-compatible)",
	}
	cmd.AddCommand(newKeyGenerateCmd(), newKeyPublicCmd())
	return cmd
}

func newKeyGenerateCmd() *cobra.Command {
	var (
		kmsRef string
		prefix string
		force  bool
	)
	cmd := &cobra.Command{
		Use:   "generate [--kms URI]",
		Short: "Generate an encrypted key pair (PREFIX.key, PREFIX.pub) or a new key in a KMS",
		Long: `Without --kms: write an ECDSA P-256 key pair in cosign's format, the private
key encrypted with the password from BULWARK_PASSWORD or COSIGN_PASSWORD
(else asked twice on a terminal). Existing files are not overwritten
without --force.

With --kms URI: create a new asymmetric signing key in the KMS (e.g.
awskms:///alias/NAME) and write its public key to PREFIX.pub.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pubFile, keyFile := prefix+".pub", prefix+".key"
			files := []string{pubFile}
			if kmsRef == "" {
				files = append(files, keyFile)
			}
			if !force {
				for _, f := range files {
					if _, err := os.Stat(f); err == nil {
						return fmt.Errorf("%s exists; remove it, choose another --output-key-prefix, or use --force", f)
					}
				}
			}
			if kmsRef != "" {
				if !sign.IsKMSRef(kmsRef) {
					return usageError{fmt.Errorf("--kms %q: not a KMS URI (awskms://, gcpkms://, azurekms://, hashivault://)", kmsRef)}
				}
				pub, err := sign.CreateKMSKey(cmd.Context(), kmsRef)
				if err != nil {
					return err
				}
				pem, err := cryptoutils.MarshalPublicKeyToPEM(pub)
				if err != nil {
					return err
				}
				if err := os.WriteFile(pubFile, pem, 0o644); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "created key %s; public key written to %s\n", kmsRef, pubFile)
				return nil
			}
			pw, err := keyPassword(cmd)(true)
			if err != nil {
				return err
			}
			priv, pub, err := sign.GenerateKeyPair(pw)
			if err != nil {
				return err
			}
			if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
				return err
			}
			if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "private key written to %s, public key written to %s\n", keyFile, pubFile)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&kmsRef, "kms", "", "create the key in this KMS instead (awskms://, gcpkms://, azurekms://, hashivault://)")
	fl.StringVar(&prefix, "output-key-prefix", "cosign", "write PREFIX.key and PREFIX.pub")
	fl.BoolVar(&force, "force", false, "overwrite existing key files")
	return cmd
}

func newKeyPublicCmd() *cobra.Command {
	var key, out string
	cmd := &cobra.Command{
		Use:   "public --key KEY",
		Short: "Print the public key of a key reference",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if key == "" {
				return usageError{errors.New("--key is required")}
			}
			pem, err := sign.PublicKeyPEM(cmd.Context(), key, keyPassword(cmd))
			if err != nil {
				return err
			}
			if out != "" {
				return os.WriteFile(out, pem, 0o644)
			}
			_, err = cmd.OutOrStdout().Write(pem)
			return err
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "key reference (key file, env://VAR, KMS URI)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the public key to this file")
	alias(cmd, "output", "outfile", "", "")
	return cmd
}

// cosignName makes a 'bulwark key' subcommand reachable under cosign's
// top-level name too (generate-key-pair, public-key), hidden from help.
func cosignName(cmd *cobra.Command, name string) *cobra.Command {
	orig := strings.Fields(cmd.Use)[0]
	cmd.Use = name + strings.TrimPrefix(cmd.Use, orig)
	cmd.Short = "cosign's name for 'bulwark key " + orig + "'"
	cmd.Hidden = true
	return cmd
}
