package htmlreport

// The summary chart: one horizontal bar a row (a gate, or the packages of
// an SBOM), cut into one segment a severity (or an ecosystem), drawn as
// inline SVG so that the page needs nothing else.

// Chart geometry, in SVG user units.
const (
	chartLabelWidth = 90
	chartBarWidth   = 480
	chartRowHeight  = 30
)

type count struct {
	Label string
	N     int
	Class string
}

// chartRow is one bar: its label, total and segments.
type chartRow struct {
	Label    string
	Total    int
	Y        int
	End      int // where the total is written
	Segments []segment
	counts   []count
}

// segment is one coloured part of a bar, with its count.
type segment struct {
	X, Y, Width int
	Class       string
	Label       string
	N           int
}

// chart is the rows of the summary chart, laid out by layout.
type chart []chartRow

func bars(label string, counts []count) chartRow {
	r := chartRow{Label: label, counts: counts}
	for _, c := range counts {
		r.Total += c.N
	}
	return r
}

// Height is the height of the SVG drawing.
func (c chart) Height() int { return len(c)*chartRowHeight + 4 }

// Width is the width of the SVG drawing (the label, the longest bar and
// room for its total and counts).
func (c chart) Width() int { return chartLabelWidth + chartBarWidth + 260 }

// layout places the rows one under the other and scales every bar to the
// longest; a segment is at least 2 units wide so that a count of 1 among
// thousands still shows.
func layout(rows []chartRow) chart {
	most := 0
	for _, r := range rows {
		most = max(most, r.Total)
	}
	for i := range rows {
		r := &rows[i]
		r.Y = i*chartRowHeight + 2
		x := chartLabelWidth
		r.Segments = r.Segments[:0]
		for _, c := range r.counts {
			w := max(2, c.N*chartBarWidth/most)
			r.Segments = append(r.Segments, segment{X: x, Y: r.Y, Width: w, Class: c.Class, Label: c.Label, N: c.N})
			x += w
		}
		r.End = x + 6
	}
	return chart(rows)
}
