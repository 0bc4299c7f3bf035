package disk

import (
	"fmt"
	"io"
)

func openVMDK(f io.ReaderAt, size int64) (io.ReaderAt, int64, error) {
	return nil, 0, fmt.Errorf("not supported yet")
}
