package scan

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestBaseLayersFromHistory(t *testing.T) {
	h := func(createdBy string, empty bool) v1.History {
		return v1.History{CreatedBy: createdBy, EmptyLayer: empty}
	}
	tests := []struct {
		name string
		hist []v1.History
		want int
		ok   bool
	}{
		{"docker build on debian", []v1.History{
			h("/bin/sh -c #(nop) ADD file:abc in / ", false), h(`/bin/sh -c #(nop)  CMD ["bash"]`, true),
			h("COPY app /app # buildkit", false), h("RUN make", false), h(`CMD ["/app/server"]`, true)}, 1, true},
		{"two base layers, app sets no CMD", []v1.History{
			h("ADD rootfs", false), h("RUN apt-get install", false), h(`ENTRYPOINT ["x"]`, true), h("COPY . /app", false)}, 2, true},
		{"only the base", []v1.History{h("ADD rootfs", false), h(`CMD ["bash"]`, true)}, 0, false},
		{"no history", nil, 0, false},
		{"RUN mentioning CMD is not a boundary", []v1.History{h("ADD rootfs", false), h("RUN echo CMD", false), h("COPY x /x", false)}, 0, false},
	}
	for _, tt := range tests {
		n, ok := baseLayersFromHistory(&v1.ConfigFile{History: tt.hist})
		if n != tt.want || ok != tt.ok {
			t.Errorf("%s: = %d, %v; want %d, %v", tt.name, n, ok, tt.want, tt.ok)
		}
	}
}
