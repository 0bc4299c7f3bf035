package cli

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/admission"
	"github.com/bulwark-sec/bulwark/internal/admission/k8s"
)

// admissionFlags are the flags bulwark admission and ecs-hook share: the
// policy (or keys) and the registry. Lambda has no command line, so each
// also reads an environment variable.
type admissionFlags struct {
	reg    registryFlags
	policy string
	keys   []string
}

func (f *admissionFlags) register(cmd *cobra.Command) {
	f.reg.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.policy, "policy", "", "admission policy file (YAML, see docs/admission.md); or set BULWARK_POLICY")
	fl.StringArrayVar(&f.keys, "key", nil, "every image must be signed by one of these keys (file, env://VAR, KMS URI; repeatable); or set BULWARK_KEY (comma-separated)")
}

// decider loads the policy and prepares the Decider.
func (f *admissionFlags) decider(cmd *cobra.Command, log *slog.Logger) (*admission.Decider, error) {
	pol, keys := f.policy, f.keys
	if pol == "" && len(keys) == 0 {
		pol = os.Getenv("BULWARK_POLICY")
		if v := os.Getenv("BULWARK_KEY"); v != "" && pol == "" {
			keys = strings.Split(v, ",")
		}
	}
	var (
		p   *admission.Policy
		err error
	)
	switch {
	case pol != "" && len(keys) > 0:
		return nil, usageError{errors.New("give --policy or --key, not both (a policy file lists its keys)")}
	case pol != "":
		p, err = admission.LoadPolicy(pol)
	default:
		p, err = admission.FromKeys(keys)
		if err != nil {
			err = usageError{err}
		}
	}
	if err != nil {
		return nil, err
	}
	c, err := f.reg.client()
	if err != nil {
		return nil, err
	}
	return admission.New(cmd.Context(), p, admission.Options{
		Registry: c,
		Warn:     func(s string) { log.Warn(s) },
	})
}

func newAdmissionCmd() *cobra.Command {
	var (
		af         admissionFlags
		listen     string
		tlsCert    string
		tlsKey     string
		devHosts   []string
		devCertOut string
	)
	cmd := &cobra.Command{
		Use:   "admission --listen ADDR [--tls-cert F --tls-key F] (--policy FILE | --key KEYREF...)",
		Short: "Serve a Kubernetes admission webhook that admits only images the policy allows",
		Long: `Serve HTTPS for the Kubernetes API server:

  POST /validate  ValidatingWebhook: AdmissionReview v1 in, allowed or denied out
  POST /mutate    MutatingWebhook: the same decision, and tags rewritten to the
                  verified digests (image:tag@sha256:...)
  GET  /healthz   liveness and readiness

for Pods and the kinds that embed a pod template (Deployment, ReplicaSet,
StatefulSet, DaemonSet, Job, CronJob, ReplicationController, PodTemplate).
Verdicts are cached by digest for the policy's cacheTTL: a digest-pinned
image with a cached verdict is decided without any network call.

Without --tls-cert/--tls-key a self-signed certificate for --dev-cert-hosts
is made at start (development only); --dev-cert-out writes its PEM, the
caBundle of the webhook configuration. Decisions are logged as JSON lines on
stderr. See docs/admission.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
			if (tlsCert == "") != (tlsKey == "") {
				return usageError{errors.New("--tls-cert and --tls-key go together")}
			}
			dec, err := af.decider(cmd, log)
			if err != nil {
				return err
			}
			var getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)
			if tlsCert != "" {
				if getCert, err = k8s.FileCertificate(tlsCert, tlsKey); err != nil {
					return err
				}
			} else {
				c, pemBytes, err := k8s.DevCertificate(devHosts)
				if err != nil {
					return usageError{fmt.Errorf("--dev-cert-hosts: %w", err)}
				}
				if devCertOut != "" {
					if err := os.WriteFile(devCertOut, pemBytes, 0o644); err != nil {
						return fmt.Errorf("--dev-cert-out: %w", err)
					}
				}
				log.Warn("serving a self-signed development certificate; give --tls-cert and --tls-key in production", "hosts", strings.Join(devHosts, ","), "pem", devCertOut)
				getCert = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &c, nil }
			}
			l, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen %s: %w", listen, err)
			}
			log.Info("listening", "addr", "https://"+l.Addr().String(), "policy", dec.Policy().Version, "onError", dec.Policy().OnError.String())
			return k8s.Serve(cmd.Context(), l, k8s.NewHandler(dec, log), getCert)
		},
	}
	af.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", ":8443", "address to serve HTTPS on")
	fl.StringVar(&tlsCert, "tls-cert", "", "serving certificate (PEM); read again when it changes")
	fl.StringVar(&tlsKey, "tls-key", "", "its private key (PEM)")
	fl.StringSliceVar(&devHosts, "dev-cert-hosts", []string{"localhost", "127.0.0.1"}, "hosts of the self-signed development certificate (without --tls-cert)")
	fl.StringVar(&devCertOut, "dev-cert-out", "", "write the development certificate's PEM (the caBundle) to this file")
	return cmd
}
