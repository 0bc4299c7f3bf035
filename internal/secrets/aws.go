package secrets

import (
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"
)

// AWSAccountFromKeyID decodes the AWS account an access key ID belongs to,
// offline: the characters after the 4-character prefix are base32, and
// bits 1..40 of the decoded bytes are the account number (published by
// Aidan Steele and Tal Be'ery; ASIAY34FZKBOKMUTVV7A belongs to
// 609629065308). It returns false for key IDs that do not decode, and for
// old-generation IDs whose account is not encoded (those decode to a
// number outside the 12-digit range).
func AWSAccountFromKeyID(keyID string) (string, bool) {
	if len(keyID) < 16 {
		return "", false
	}
	rest := strings.ToUpper(keyID[4:])
	if pad := len(rest) % 8; pad != 0 {
		rest += strings.Repeat("=", 8-pad)
	}
	b, err := base32.StdEncoding.DecodeString(rest)
	if err != nil || len(b) < 6 {
		return "", false
	}
	var buf [8]byte
	copy(buf[2:], b[:6])
	v := binary.BigEndian.Uint64(buf[:])
	acct := (v & 0x7fffffffff80) >> 7
	if acct == 0 || acct > 999999999999 {
		return "", false
	}
	return fmt.Sprintf("%012d", acct), true
}
