package disk

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
)

// snapshot reads an EBS snapshot as a device through the EBS direct APIs:
// ListSnapshotBlocks once for the block tokens, then GetSnapshotBlock for
// only the blocks that reads touch (checked against their SHA-256), kept
// in a small cache. Blocks the snapshot does not list read as zeros.
type snapshot struct {
	ctx       context.Context
	client    *ebs.Client
	id        string
	size      int64
	blockSize int64
	tokens    map[int32]string

	mu    sync.Mutex
	cache *fifoCache[int32, []byte]
	gets  atomic.Int64 // blocks fetched
}

const (
	ebsCacheBlocks = 64       // 32 MiB of 512 KiB blocks
	maxEBSVolume   = 64 << 40 // the largest EBS volume
)

// OpenEBS opens an EBS snapshot with the AWS SDK's default credential
// chain and configuration (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL_EBS...).
func OpenEBS(ctx context.Context, snapshotID string) (*Disk, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	s, err := openSnapshot(ctx, ebs.NewFromConfig(cfg), snapshotID)
	if err != nil {
		return nil, err
	}
	return New("ebs:"+snapshotID, "ebs", s, s.size)
}

func openSnapshot(ctx context.Context, client *ebs.Client, id string) (*snapshot, error) {
	s := &snapshot{ctx: ctx, client: client, id: id, tokens: map[int32]string{}, cache: newFIFOCache[int32, []byte](ebsCacheBlocks)}
	p := ebs.NewListSnapshotBlocksPaginator(client, &ebs.ListSnapshotBlocksInput{SnapshotId: aws.String(id), MaxResults: aws.Int32(10000)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the blocks of snapshot %s: %w", id, err)
		}
		s.blockSize = int64(aws.ToInt32(out.BlockSize))
		s.size = aws.ToInt64(out.VolumeSize) << 30
		if s.blockSize <= 0 || s.blockSize > 16<<20 || s.size <= 0 || s.size > maxEBSVolume {
			return nil, fmt.Errorf("snapshot %s: block size %d or volume size %d GiB is invalid", id, s.blockSize, aws.ToInt64(out.VolumeSize))
		}
		for _, b := range out.Blocks {
			i := aws.ToInt32(b.BlockIndex)
			if i < 0 || int64(i) >= s.size/s.blockSize {
				return nil, fmt.Errorf("snapshot %s: block %d lies beyond the volume", id, i)
			}
			s.tokens[i] = aws.ToString(b.BlockToken)
		}
	}
	if s.size == 0 {
		return nil, fmt.Errorf("snapshot %s: the service returned no volume size", id)
	}
	return s, nil
}

// ReadAt reads volume bytes; it is safe for concurrent use.
func (s *snapshot) ReadAt(p []byte, off int64) (int, error) {
	return readUnits(p, off, s.size, s.blockSize, s.readBlock)
}

func (s *snapshot) readBlock(p []byte, idx uint64, in int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := int32(idx)
	tok, ok := s.tokens[i]
	if !ok {
		clear(p)
		return nil
	}
	if b, ok := s.cache.get(i); ok {
		copy(p, b[in:])
		return nil
	}
	out, err := s.client.GetSnapshotBlock(s.ctx, &ebs.GetSnapshotBlockInput{SnapshotId: aws.String(s.id), BlockIndex: aws.Int32(i), BlockToken: aws.String(tok)})
	if err != nil {
		return fmt.Errorf("snapshot %s: block %d: %w", s.id, i, err)
	}
	defer out.BlockData.Close()
	b := make([]byte, s.blockSize)
	n, err := io.ReadFull(out.BlockData, b)
	if err != nil && err != io.ErrUnexpectedEOF {
		return fmt.Errorf("snapshot %s: reading block %d: %w", s.id, i, err)
	}
	if out.DataLength != nil && int(*out.DataLength) != n {
		return fmt.Errorf("snapshot %s: block %d has %d bytes, the service said %d", s.id, i, n, *out.DataLength)
	}
	sum := sha256.Sum256(b[:n])
	if want := aws.ToString(out.Checksum); want != base64.StdEncoding.EncodeToString(sum[:]) {
		return fmt.Errorf("snapshot %s: block %d does not match its SHA-256 checksum %q", s.id, i, want)
	}
	s.gets.Add(1)
	s.cache.put(i, b)
	copy(p, b[in:])
	return nil
}
