package finding

// SecretDetail holds what a secrets finding adds to a Finding. The secret
// itself is never stored whole unless the user asked to show secrets.
type SecretDetail struct {
	// Redacted is the matched secret, redacted for display.
	Redacted string `json:"redacted"`
	// Secret is the whole secret, set only when the user asked to show
	// secrets (--show-secrets).
	Secret string `json:"secret,omitempty"`
	// Commit, Author and Date are set for findings in git history.
	Commit string `json:"commit,omitempty"`
	Author string `json:"author,omitempty"`
	Date   string `json:"date,omitempty"`
	// AWSAccount is the AWS account an access key ID belongs to, decoded
	// offline from the key ID.
	AWSAccount string `json:"awsAccount,omitempty"`
	// Entropy is the Shannon entropy of the secret, where the rule uses it.
	Entropy float64 `json:"entropy,omitempty"`
}
