package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// uploadTlog records a signature in a Rekor transparency log as a
// hashedrekord entry and returns the bundle cosign attaches to the
// signature layer (dev.sigstore.cosign/bundle).
func uploadTlog(ctx context.Context, rekorURL string, payload, sig []byte, pub crypto.PublicKey) ([]byte, error) {
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(payload)
	entry := map[string]any{
		"apiVersion": "0.0.1",
		"kind":       "hashedrekord",
		"spec": map[string]any{
			"data": map[string]any{"hash": map[string]string{"algorithm": "sha256", "value": hex.EncodeToString(h[:])}},
			"signature": map[string]any{
				"content":   base64.StdEncoding.EncodeToString(sig),
				"publicKey": map[string]string{"content": base64.StdEncoding.EncodeToString(pubPEM)},
			},
		},
	}
	body, _ := json.Marshal(entry)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	url := strings.TrimRight(rekorURL, "/") + "/api/v1/log/entries"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("transparency log %s: %w", rekorURL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("transparency log %s: %w (use --tlog-upload=false to sign offline)", rekorURL, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("transparency log %s: %w", rekorURL, err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("transparency log %s refused the entry: %s: %s", rekorURL, resp.Status, strings.TrimSpace(string(rb)))
	}
	var entries map[string]struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogID          string `json:"logID"`
		LogIndex       int64  `json:"logIndex"`
		Verification   struct {
			SignedEntryTimestamp string `json:"signedEntryTimestamp"`
		} `json:"verification"`
	}
	if err := json.Unmarshal(rb, &entries); err != nil || len(entries) != 1 {
		return nil, fmt.Errorf("transparency log %s: unexpected answer (want one log entry): %.200s", rekorURL, rb)
	}
	for _, e := range entries {
		return json.Marshal(map[string]any{
			"SignedEntryTimestamp": e.Verification.SignedEntryTimestamp,
			"Payload": map[string]any{
				"body":           e.Body,
				"integratedTime": e.IntegratedTime,
				"logIndex":       e.LogIndex,
				"logID":          e.LogID,
			},
		})
	}
	return nil, nil
}
