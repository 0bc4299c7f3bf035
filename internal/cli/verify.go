package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/sign"
)

func newVerifyCmd() *cobra.Command {
	var (
		reg         registryFlags
		key         string
		annotations []string
	)
	format := newFormatFlag("text", "json")
	cosignOut := formatFlag{names: []string{"json", "text"}} // cosign's -o: none unless given
	cmd := &cobra.Command{
		Use:   "verify IMAGE... --key KEY",
		Short: "Verify an image's signature (cosign-compatible); exit 1 when it does not verify",
		Long: `Succeed only if a signature over the image's exact manifest digest verifies
with KEY (and carries every --annotations key=value). Signatures are looked
up in cosign's tag layout and, where the registry has it, through the OCI 1.1
referrers API (Sigstore bundles). No transparency log or TUF is contacted.

Exit codes: 0 verified, 1 not verified (with the reason), 2 could not check.

cosign's command line works as it is (docs/migrating.md): -o json|text
prints what 'cosign verify' prints (a JSON array of the verified
simple-signing payloads, or each payload on a line), and with cosign's
flags (-o, --insecure-ignore-tlog) a failure exits with cosign's codes:
10 no signature found, 12 no matching signature.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			want, err := parseKV("--annotations", annotations)
			if err != nil {
				return err
			}
			asCosign := cmd.Flags().Changed("output") || cmd.Flags().Changed("insecure-ignore-tlog")
			r, err := reg.registry(cmd)
			if err != nil {
				return err
			}
			v, err := sign.LoadVerifier(cmd.Context(), key)
			if err != nil {
				return err
			}
			// Several images are verified a few at a time, reported in order.
			all := make([]*sign.Result, len(args))
			errs := make([]error, len(args))
			g, gctx := errgroup.WithContext(cmd.Context())
			g.SetLimit(4)
			for i, img := range args {
				g.Go(func() error {
					all[i], errs[i] = sign.Verify(gctx, r, img, v, want)
					if errs[i] != nil && !sign.IsVerificationFailure(errs[i]) {
						return errs[i]
					}
					return nil
				})
			}
			if err := g.Wait(); err != nil {
				return err
			}
			var failed []string
			var results []*sign.Result
			var firstFailure error
			for i := range args {
				if errs[i] != nil {
					failed = append(failed, errs[i].Error())
					if firstFailure == nil {
						firstFailure = errs[i]
					}
					continue
				}
				results = append(results, all[i])
			}
			if cosignOut.value != "" {
				if err := printCosign(cmd, results, cosignOut.value); err != nil {
					return err
				}
			} else if format.value == "json" {
				if err := writeJSON(cmd, results); err != nil {
					return err
				}
			} else {
				for _, res := range results {
					printVerified(cmd, res, key)
				}
			}
			if len(failed) > 0 {
				err := gateErr(&sign.VerificationError{Msg: strings.Join(failed, "\n")})
				if asCosign {
					err.(*policy.GateError).Code = cosignExitCode(firstFailure)
				}
				return err
			}
			return nil
		},
	}
	reg.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&key, "key", "", "public key reference (cosign.pub, env://VAR, awskms://, gcpkms://, azurekms://, hashivault://)")
	fl.StringArrayVarP(&annotations, "annotations", "a", nil, "require this signed annotation key=value (repeatable)")
	format.register(cmd)
	fl.VarP(&cosignOut, "output", "o", "cosign's output: json (an array of the verified simple-signing payloads) or text (one payload a line)")
	reg.cosignAliases(cmd)
	accept(cmd, "insecure-ignore-tlog", "", "")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

// The exit codes cosign gives a failed verification (cosign's
// cmd/cosign/errors/exit_codes.go).
const (
	cosignExitNoSignature         = 10
	cosignExitNoMatchingSignature = 12
)

// cosignExitCode is cosign's exit code for a failed verification.
func cosignExitCode(err error) int {
	var ve *sign.VerificationError
	if errors.As(err, &ve) && ve.Reason == sign.ReasonNoSignature {
		return cosignExitNoSignature
	}
	return cosignExitNoMatchingSignature
}

// printCosign prints what 'cosign verify -o json|text' prints for each
// image: a JSON array of the verified payloads on one line, or each payload
// on a line.
func printCosign(cmd *cobra.Command, results []*sign.Result, layout string) error {
	out := cmd.OutOrStdout()
	for _, res := range results {
		payloads := make([]json.RawMessage, 0, len(res.Signatures))
		for _, s := range res.Signatures {
			payloads = append(payloads, s.Payload)
		}
		if layout == "text" {
			for _, p := range payloads {
				fmt.Fprintln(out, string(p))
			}
			continue
		}
		b, err := json.Marshal(payloads)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, string(b))
	}
	return nil
}

func printVerified(cmd *cobra.Command, res *sign.Result, key string) {
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
}
