// Package kmsproviders registers the KMS providers of sigstore's
// signature/kms package: awskms://, gcpkms://, azurekms:// and
// hashivault://. Only the CLI imports it, so the libraries that verify
// with file keys do not compile the cloud SDKs.
package kmsproviders

import (
	// Each provider registers itself with sigstore's kms.Get.
	_ "github.com/sigstore/sigstore/pkg/signature/kms/aws"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/gcp"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)
