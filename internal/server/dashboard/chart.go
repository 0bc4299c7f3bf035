package dashboard

import (
	"fmt"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/server/store"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 720, 200
	padL, padB     = 48, 24
	padT, padR     = 10, 10
)

// line is one series of the trend chart.
type line struct {
	Name, Class, Points string
	Last                int
}

// trendChart is the open findings over time, ready for inline SVG.
type trendChart struct {
	W, H, Left, Bottom, Right, Top int
	Lines                          []line
	Max                            int
	From, To                       string
	Days                           int
}

// chart plots the open findings per day: all of them and the critical
// and high ones.
func chart(days []store.Day) *trendChart {
	if len(days) == 0 {
		return nil
	}
	c := &trendChart{W: chartW, H: chartH, Left: padL, Bottom: chartH - padB, Right: chartW - padR, Top: padT,
		From: days[0].Day, To: days[len(days)-1].Day, Days: len(days)}
	series := []struct {
		name, class string
		of          func(store.Day) int
	}{
		{"all open", "all", func(d store.Day) int {
			n := 0
			for _, v := range d.Open {
				n += v
			}
			return n
		}},
		{"critical and high", "crit", func(d store.Day) int { return d.Open["CRITICAL"] + d.Open["HIGH"] }},
	}
	vals := make([][]int, len(series))
	for i, s := range series {
		for _, d := range days {
			v := s.of(d)
			vals[i] = append(vals[i], v)
			c.Max = max(c.Max, v)
		}
	}
	top := max(c.Max, 1)
	for i, s := range series {
		var pts []string
		for j, v := range vals[i] {
			x := float64(c.Left)
			if len(days) > 1 {
				x += float64(j) * float64(c.Right-c.Left) / float64(len(days)-1)
			}
			y := float64(c.Bottom) - float64(v)*float64(c.Bottom-c.Top)/float64(top)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		}
		if len(days) == 1 { // one day: a flat segment, so that it shows
			pts = append(pts, fmt.Sprintf("%d,%s", c.Right, strings.Split(pts[0], ",")[1]))
		}
		c.Lines = append(c.Lines, line{Name: s.name, Class: s.class, Points: strings.Join(pts, " "), Last: vals[i][len(vals[i])-1]})
	}
	return c
}
