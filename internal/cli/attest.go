package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/sign"
)

const maxPredicateFile = 64 << 20

// predicateTypeHelp describes --type of attest and verify-attestation.
const predicateTypeHelp = "predicate type: cyclonedx|spdx|spdxjson|vuln|slsaprovenance|slsaprovenance1|openvex|custom or a URI"

func newAttestCmd() *cobra.Command {
	var (
		reg       registryFlags
		key       string
		typ       string
		predicate string
		bundle    bool
	)
	cmd := &cobra.Command{
		Use:   "attest IMAGE --key KEY --type TYPE --predicate FILE",
		Short: "Attach a signed in-toto attestation (SBOM, scan report, provenance) to an image",
		Long: `Wrap the predicate file in an in-toto statement about the image's digest,
sign it as a DSSE envelope and store it where cosign does (tag
sha256-<digest>.att), so 'cosign verify-attestation' accepts it.

--type is cyclonedx, spdx, spdxjson, vuln, slsaprovenance, slsaprovenance1,
openvex, custom, or a predicate type URI. For vuln, a bulwark (or Trivy,
Grype) JSON report is wrapped in cosign's vuln predicate, with the report's
time as the scan time.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if predicate == "" {
				return usageError{fmt.Errorf("--predicate FILE is required")}
			}
			if _, err := sign.PredicateTypeURI(typ); err != nil {
				return usageError{err}
			}
			raw, err := readLimited(predicate, maxPredicateFile)
			if err != nil {
				return err
			}
			r, err := reg.registry(cmd)
			if err != nil {
				return err
			}
			s, err := sign.LoadSigner(cmd.Context(), key, keyPassword(cmd))
			if err != nil {
				return err
			}
			res, err := sign.AttestImage(cmd.Context(), r, args[0], s, sign.AttestOptions{Type: typ, Predicate: raw, Bundle: bundle})
			if err != nil {
				return fmt.Errorf("predicate %s: %w", predicate, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "attested %s (%s attestation in %s)\n", res.Digest, typ, res.Signature)
			fmt.Fprintln(cmd.OutOrStdout(), res.Digest)
			return nil
		},
	}
	reg.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&key, "key", "", "signing key reference (file, env://VAR, KMS URI)")
	fl.StringVar(&typ, "type", "custom", predicateTypeHelp)
	fl.StringVar(&predicate, "predicate", "", "the predicate file (SBOM, scan report, provenance)")
	fl.BoolVar(&bundle, "new-bundle-format", false, "store a Sigstore bundle through the OCI 1.1 referrers API instead of the .att tag")
	reg.cosignAliases(cmd)
	accept(cmd, "yes", "y", "")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

func newVerifyAttestationCmd() *cobra.Command {
	var (
		reg registryFlags
		key string
		typ string
		pol string
	)
	format := newFormatFlag("text", "json")
	cmd := &cobra.Command{
		Use:   "verify-attestation IMAGE --key KEY --type TYPE [--policy FILE]",
		Short: "Verify an image's attestations of a type, and optionally a policy on the newest scan",
		Long: `Succeed only if an attestation of --type whose DSSE signature verifies with
KEY and whose subject is the image's exact digest is attached. With
--policy (see docs/sign.md), the newest verified vulnerability scan must
also satisfy it, e.g. "no CRITICAL, scanned less than 24 hours ago".

Exit codes: 0 verified, 1 not verified or policy failed, 2 could not check.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := sign.PredicateTypeURI(typ); err != nil {
				return usageError{err}
			}
			var p *sign.Policy
			if pol != "" {
				var err error
				if p, err = sign.LoadPolicy(pol); err != nil {
					return err
				}
			}
			r, err := reg.registry(cmd)
			if err != nil {
				return err
			}
			v, err := sign.LoadVerifier(cmd.Context(), key)
			if err != nil {
				return err
			}
			res, err := sign.VerifyAttestations(cmd.Context(), r, args[0], v, typ, p, time.Now())
			if err != nil {
				return gateErr(err)
			}
			if format.value == "json" {
				return writeJSON(cmd, res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Verified %d %s attestation(s) of %s with key %s\n", len(res.Attestations), typ, res.Digest, key)
			if res.Policy != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "Policy %s: %s\n", pol, res.Policy)
			}
			return nil
		},
	}
	reg.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&key, "key", "", "public key reference (cosign.pub, env://VAR, KMS URI)")
	fl.StringVar(&typ, "type", "custom", predicateTypeHelp)
	fl.StringVar(&pol, "policy", "", "policy file the newest verified scan must satisfy (YAML, see docs/sign.md)")
	format.register(cmd)
	reg.cosignAliases(cmd)
	accept(cmd, "insecure-ignore-tlog", "", "")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

func readLimited(path string, max int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d allowed", path, st.Size(), max)
	}
	return os.ReadFile(path)
}
