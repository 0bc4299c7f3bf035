package cli

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/sign"
)

func newVerifyCmd() *cobra.Command {
	var (
		reg         registryFlags
		key         string
		annotations []string
		format      string
	)
	cmd := &cobra.Command{
		Use:   "verify IMAGE --key KEY",
		Short: "Verify an image's signature (cosign-compatible); exit 1 when it does not verify",
		Long: `Succeed only if a signature over the image's exact manifest digest verifies
with KEY (and carries every --annotations key=value). Signatures are looked
up in cosign's tag layout and, where the registry has it, through the OCI 1.1
referrers API (Sigstore bundles). No transparency log or TUF is contacted.

Exit codes: 0 verified, 1 not verified (with the reason), 2 could not check.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			want, err := parseKV("--annotations", annotations)
			if err != nil {
				return err
			}
			if format != "text" && format != "json" {
				return usageError{fmt.Errorf("--format %q: use text or json", format)}
			}
			r, err := reg.registry(cmd)
			if err != nil {
				return err
			}
			v, err := sign.LoadVerifier(cmd.Context(), key)
			if err != nil {
				return err
			}
			res, err := sign.Verify(cmd.Context(), r, args[0], v, want)
			if err != nil {
				return gateErr(err)
			}
			if format == "json" {
				return writeJSON(cmd, res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Verified %s with key %s: %d signature(s)\n", res.Digest, key, len(res.Signatures))
			for _, s := range res.Signatures {
				keys := make([]string, 0, len(s.Annotations))
				for k := range s.Annotations {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				line := "  " + s.Layout + " " + s.Location
				for _, k := range keys {
					line += fmt.Sprintf(" %s=%v", k, s.Annotations[k])
				}
				fmt.Fprintln(cmd.OutOrStdout(), line)
			}
			return nil
		},
	}
	reg.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&key, "key", "", "public key reference (cosign.pub, env://VAR, awskms://, gcpkms://, azurekms://, hashivault://)")
	fl.StringArrayVarP(&annotations, "annotations", "a", nil, "require this signed annotation key=value (repeatable)")
	fl.StringVarP(&format, "format", "f", "text", "output format: text|json")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}
