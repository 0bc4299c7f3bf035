package sign

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Predicate type URIs, as cosign names them.
const (
	PredicateCycloneDX   = "https://cyclonedx.org/bom"
	PredicateSPDX        = "https://spdx.dev/Document"
	PredicateVuln        = "https://cosign.sigstore.dev/attestation/vuln/v1"
	PredicateSLSA02      = "https://slsa.dev/provenance/v0.2"
	PredicateSLSA1       = "https://slsa.dev/provenance/v1"
	PredicateOpenVEX     = "https://openvex.dev/ns"
	PredicateCustom      = "https://cosign.sigstore.dev/attestation/v1"
	maxAttestationBlob   = maxEnvelopeSize
	bulwarkScannerURI    = "https://github.com/bulwark-sec/bulwark"
	attestationTagSuffix = "att"
)

// predicateTypes maps the --type names to predicate URIs.
var predicateTypes = map[string]string{
	"cyclonedx":        PredicateCycloneDX,
	"spdx":             PredicateSPDX,
	"spdxjson":         PredicateSPDX,
	"vuln":             PredicateVuln,
	"slsaprovenance":   PredicateSLSA02,
	"slsaprovenance02": PredicateSLSA02,
	"slsaprovenance1":  PredicateSLSA1,
	"openvex":          PredicateOpenVEX,
	"custom":           PredicateCustom,
}

// PredicateTypeURI returns the predicate URI for a --type value: one of
// the names cosign accepts, or a URI.
func PredicateTypeURI(t string) (string, error) {
	if u, ok := predicateTypes[t]; ok {
		return u, nil
	}
	if strings.HasPrefix(t, "https://") || strings.HasPrefix(t, "http://") {
		return t, nil
	}
	names := make([]string, 0, len(predicateTypes))
	for k := range predicateTypes {
		names = append(names, k)
	}
	sort.Strings(names)
	return "", fmt.Errorf("unknown attestation type %q: use one of %s, or a predicate type URI", t, strings.Join(names, "|"))
}

// AttestOptions configures AttestImage.
type AttestOptions struct {
	// Type is the --type value (cyclonedx, spdx, vuln, slsaprovenance, ...).
	Type string
	// Predicate is the content of the --predicate file.
	Predicate []byte
	// Bundle stores a Sigstore bundle as an OCI 1.1 referrer instead of
	// the .att tag.
	Bundle bool
	// Now is the clock (default time.Now), for the vuln scan time.
	Now func() time.Time
}

// AttestImage wraps a predicate in an in-toto statement about the image's
// digest, signs it as a DSSE envelope and stores it where cosign does.
func AttestImage(ctx context.Context, reg *Registry, imageRef string, s *Signer, o AttestOptions) (*SignResult, error) {
	uri, err := PredicateTypeURI(o.Type)
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	pred, err := BuildPredicate(o.Type, uri, o.Predicate, o.Now())
	if err != nil {
		return nil, err
	}
	d, err := reg.Resolve(ctx, imageRef)
	if err != nil {
		return nil, err
	}
	stType := StatementV01
	if o.Bundle {
		stType = StatementV1
	}
	st, err := json.Marshal(Statement{Type: stType, PredicateType: uri, Subject: []Subject{subjectOf(d, true)}, Predicate: pred})
	if err != nil {
		return nil, err
	}
	if o.Bundle {
		where, err := writeBundle(ctx, reg, d, s, st, uri)
		if err != nil {
			return nil, err
		}
		return &SignResult{Digest: d.String(), Signature: where}, nil
	}
	env, err := signDSSE(ctx, s, st)
	if err != nil {
		return nil, err
	}
	envJSON, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	tag, err := reg.TagFor(d, attestationTagSuffix)
	if err != nil {
		return nil, err
	}
	ann := map[string]string{SignatureAnnotation: "", PredicateTypeAnnotation: uri}
	if err := reg.appendToTag(ctx, tag, artifact{MediaType: DSSEMediaType, Annotations: ann, Data: envJSON}, maxAttestationBlob); err != nil {
		return nil, err
	}
	return &SignResult{Digest: d.String(), Signature: tag.String()}, nil
}

// BuildPredicate turns a predicate file into the statement's predicate:
// JSON as is; SPDX tag-value as a JSON string (as cosign does); for vuln,
// a file that is not already a cosign vuln predicate (a bulwark, Trivy or
// Grype report) is wrapped in one, with the report's time as scan time.
func BuildPredicate(typ, uri string, raw []byte, now time.Time) (json.RawMessage, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("the predicate file is empty")
	}
	if !json.Valid(raw) {
		if typ == "spdx" {
			return json.Marshal(string(raw))
		}
		return nil, fmt.Errorf("the predicate file for --type %s is not valid JSON", typ)
	}
	switch uri {
	case PredicateVuln:
		return vulnPredicate(raw, now)
	case PredicateCustom:
		return json.Marshal(map[string]any{"Data": json.RawMessage(raw), "Timestamp": now.UTC().Format(time.RFC3339)})
	}
	return json.RawMessage(raw), nil
}

// VulnPredicate is cosign's vulnerability scan predicate.
type VulnPredicate struct {
	Invocation struct {
		Parameters any    `json:"parameters"`
		URI        string `json:"uri"`
		EventID    string `json:"event_id"`
		BuilderID  string `json:"builder.id"`
	} `json:"invocation"`
	Scanner struct {
		URI     string `json:"uri"`
		Version string `json:"version"`
		DB      struct {
			URI     string `json:"uri"`
			Version string `json:"version"`
		} `json:"db"`
		Result json.RawMessage `json:"result"`
	} `json:"scanner"`
	Metadata struct {
		ScanStartedOn  time.Time `json:"scanStartedOn"`
		ScanFinishedOn time.Time `json:"scanFinishedOn"`
	} `json:"metadata"`
}

func vulnPredicate(raw []byte, now time.Time) (json.RawMessage, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("the vuln predicate must be a JSON object: %w", err)
	}
	if _, ok := probe["scanner"]; ok {
		var vp VulnPredicate
		if err := json.Unmarshal(raw, &vp); err != nil {
			return nil, fmt.Errorf("the vuln predicate is not in cosign's format: %w", err)
		}
		return json.RawMessage(raw), nil
	}
	var rep struct {
		Tool      string    `json:"tool"`
		Version   string    `json:"version"`
		CreatedAt time.Time `json:"createdAt"`
		// Trivy
		CreatedAtTrivy time.Time `json:"CreatedAt"`
	}
	_ = json.Unmarshal(raw, &rep)
	var vp VulnPredicate
	vp.Scanner.URI = bulwarkScannerURI
	vp.Scanner.Version = rep.Version
	if rep.Tool != "" && rep.Tool != "bulwark" {
		vp.Scanner.URI = rep.Tool
	}
	vp.Scanner.Result = json.RawMessage(raw)
	t := rep.CreatedAt
	if t.IsZero() {
		t = rep.CreatedAtTrivy
	}
	if t.IsZero() {
		t = now
	}
	vp.Metadata.ScanStartedOn, vp.Metadata.ScanFinishedOn = t.UTC(), t.UTC()
	return json.Marshal(vp)
}

// VerifiedAttestation is one attestation that verified.
type VerifiedAttestation struct {
	// Layout is "tag" (cosign's .att tag) or "bundle" (OCI referrer).
	Layout string `json:"layout"`
	// Location is the tag or referrer it was found in.
	Location string `json:"location"`
	// Statement is the verified in-toto statement.
	Statement *Statement `json:"statement"`
}

// AttestationResult is the outcome of VerifyAttestations.
type AttestationResult struct {
	// Image is the image as given.
	Image string `json:"image"`
	// Digest is the image by digest.
	Digest string `json:"digest"`
	// PredicateType is the type that was required.
	PredicateType string `json:"predicateType"`
	// Attestations are those that verified and are about this digest.
	Attestations []VerifiedAttestation `json:"attestations"`
	// Policy says what the policy decided, when one was given.
	Policy string `json:"policy,omitempty"`
}

// VerifyAttestations finds the attestations of a type attached to an image
// (tag or referrer layout), keeps those whose DSSE signature verifies with
// the key and whose subject is the image's digest, and, with a policy,
// requires the newest of them to satisfy it. It fails with a
// *VerificationError when none qualifies.
func VerifyAttestations(ctx context.Context, reg *Registry, imageRef string, v *Verifier, typ string, pol *Policy, now time.Time) (*AttestationResult, error) {
	uri, err := PredicateTypeURI(typ)
	if err != nil {
		return nil, err
	}
	d, err := reg.Resolve(ctx, imageRef)
	if err != nil {
		return nil, err
	}
	res := &AttestationResult{Image: imageRef, Digest: d.String(), PredicateType: uri}
	var t tally
	_, arts, err := reg.readArtifacts(ctx, d, attestationTagSuffix, maxAttestationBlob, &t)
	if err != nil {
		return nil, err
	}
	for _, a := range arts {
		if a.MediaType != DSSEMediaType {
			continue
		}
		t.found++
		env, payload, sigs, err := ParseEnvelope(a.Data)
		if err != nil {
			t.malformed++
			t.readErrs = append(t.readErrs, a.Where+": "+err.Error())
			continue
		}
		if !verifyAny(ctx, v, PAE(env.PayloadType, payload), sigs) {
			t.wrongKey++
			continue
		}
		if env.PayloadType != InTotoPayloadType {
			t.malformed++
			continue
		}
		st, err := ParseStatement(payload)
		if err != nil {
			t.malformed++
			t.readErrs = append(t.readErrs, a.Where+": "+err.Error())
			continue
		}
		if st.PredicateType != uri {
			continue
		}
		if !st.covers(d.DigestStr()) {
			t.otherDigests = append(t.otherDigests, subjectDigests(st))
			continue
		}
		res.Attestations = append(res.Attestations, VerifiedAttestation{Layout: "tag", Location: a.Where, Statement: st})
	}
	barts, err := reg.readReferrers(ctx, d, BundleMediaType, maxAttestationBlob)
	if err != nil {
		if !isMalformed(err) {
			return nil, err
		}
		t.readErrs = append(t.readErrs, err.Error())
	}
	for _, a := range barts {
		if a.Annotations["dev.sigstore.bundle.predicateType"] == SignPredicateType {
			continue
		}
		st, ok := verifyBundleArtifact(ctx, a, v, &t)
		if !ok || st.PredicateType != uri {
			continue
		}
		if !st.covers(d.DigestStr()) {
			t.otherDigests = append(t.otherDigests, subjectDigests(st))
			continue
		}
		res.Attestations = append(res.Attestations, VerifiedAttestation{Layout: "bundle", Location: a.Where, Statement: st})
	}
	if len(res.Attestations) == 0 {
		return res, t.verdict(d, v.Ref, typ+" attestation", fmt.Sprintf("attach one with 'bulwark attest %s --key KEY --type %s --predicate FILE'", d, typ))
	}
	if pol != nil {
		msg, err := pol.Check(res.Attestations, now)
		if err != nil {
			return res, &VerificationError{Image: d.String(), Reason: ReasonPolicy, Msg: fmt.Sprintf("image %s: %s attestation fails the policy: %v", d, typ, err)}
		}
		res.Policy = msg
	}
	return res, nil
}
