package disk

import (
	"fmt"
	"io"
)

func openXFS(r io.ReaderAt, size int64) (FS, error) {
	return nil, fmt.Errorf("XFS is not supported yet")
}
