package testutil

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// EBS is a server on 127.0.0.1 that speaks the EBS direct APIs' read
// side (ListSnapshotBlocks, GetSnapshotBlock) over disk image files, one
// snapshot each, in 512 KiB blocks; blocks of zeros are not listed, as
// EBS does not list blocks never written.
type EBS struct {
	// URL is the endpoint (AWS_ENDPOINT_URL_EBS).
	URL string
	// Gets counts the GetSnapshotBlock calls answered.
	Gets atomic.Int64
	// Listed is the number of blocks each snapshot lists.
	Listed map[string]int

	files  map[string]string
	blocks map[string][]int
	sizes  map[string]int64
}

const ebsBlock = 512 << 10

// StartEBS serves the snapshots (ID to raw disk image file) and points the
// AWS SDK's configuration of this test at it with static credentials.
func StartEBS(t testing.TB, snapshots map[string]string) *EBS {
	t.Helper()
	e := &EBS{files: snapshots, Listed: map[string]int{}, blocks: map[string][]int{}, sizes: map[string]int64{}}
	for id, f := range snapshots {
		e.blocks[id], e.sizes[id] = nonZeroBlocks(t, f)
		e.Listed[id] = len(e.blocks[id])
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	e.URL = "http://" + ln.Addr().String()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_EBS": e.URL, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	return e
}

// nonZeroBlocks lists the indexes of the non-zero blocks of a file and
// returns its size.
func nonZeroBlocks(t testing.TB, file string) ([]int, int64) {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []int
	zero := make([]byte, ebsBlock)
	blk := make([]byte, ebsBlock)
	var size int64
	for i := 0; ; i++ {
		n, err := io.ReadFull(f, blk)
		size += int64(n)
		if n > 0 && !bytes.Equal(blk[:n], zero[:n]) {
			out = append(out, i)
		}
		if err != nil {
			return out, size
		}
	}
}

func (e *EBS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/") {
		http.Error(w, `{"message":"missing or wrong SigV4 signature"}`, http.StatusForbidden)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if r.Method != http.MethodGet || len(parts) < 3 || parts[0] != "snapshots" || parts[2] != "blocks" {
		http.Error(w, `{"message":"not found"}`, http.StatusNotFound)
		return
	}
	file, ok := e.files[parts[1]]
	if !ok {
		w.Header().Set("x-amzn-ErrorType", "ResourceNotFoundException")
		http.Error(w, `{"message":"The snapshot does not exist","Reason":"SNAPSHOT_NOT_FOUND"}`, http.StatusNotFound)
		return
	}
	if len(parts) == 3 {
		e.list(w, r, parts[1])
		return
	}
	size := e.sizes[parts[1]]
	i, err := strconv.Atoi(parts[3])
	if err != nil || r.URL.Query().Get("blockToken") != fmt.Sprintf("token-%s-%d", parts[1], i) || int64(i)*ebsBlock >= size {
		w.Header().Set("x-amzn-ErrorType", "ValidationException")
		http.Error(w, `{"message":"invalid block index or token"}`, http.StatusBadRequest)
		return
	}
	blk := make([]byte, min(ebsBlock, size-int64(i)*ebsBlock))
	f, err := os.Open(file)
	if err == nil {
		_, err = f.ReadAt(blk, int64(i)*ebsBlock)
		f.Close()
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256(blk)
	e.Gets.Add(1)
	w.Header().Set("x-amz-Data-Length", strconv.Itoa(len(blk)))
	w.Header().Set("x-amz-Checksum", base64.StdEncoding.EncodeToString(sum[:]))
	w.Header().Set("x-amz-Checksum-Algorithm", "SHA256")
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(blk) //nolint:errcheck // the client sees a short body
}

func (e *EBS) list(w http.ResponseWriter, r *http.Request, id string) {
	type block struct {
		BlockIndex int
		BlockToken string
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("maxResults"))
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	limit = min(limit, 100) // small pages, so that paging is exercised
	start, _ := strconv.Atoi(r.URL.Query().Get("pageToken"))
	resp := map[string]any{"BlockSize": ebsBlock, "VolumeSize": (e.sizes[id] + 1<<30 - 1) >> 30, "ExpiryTime": time.Now().Add(time.Hour).Unix()}
	all := e.blocks[id]
	start = min(max(start, 0), len(all))
	end := min(start+limit, len(all))
	var blocks []block
	for _, i := range all[start:end] {
		blocks = append(blocks, block{i, fmt.Sprintf("token-%s-%d", id, i)})
	}
	if end < len(all) {
		resp["NextToken"] = strconv.Itoa(end)
	}
	resp["Blocks"] = blocks
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp) //nolint:errcheck // the client sees a short body
}
