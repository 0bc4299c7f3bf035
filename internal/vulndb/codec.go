package vulndb

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// The record encoding is a plain sequence of uvarints and length-prefixed
// strings; its layout is fixed by the schema version.

type encoder struct{ b []byte }

func (e *encoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string) {
	e.uint(uint64(len(s)))
	e.b = append(e.b, s...)
}
func (e *encoder) strs(ss []string) {
	e.uint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.int(math.MinInt64)
		return
	}
	e.int(t.Unix())
}
func (e *encoder) float(f float64) { e.uint(math.Float64bits(f)) }
func (e *encoder) bool(v bool) {
	if v {
		e.uint(1)
	} else {
		e.uint(0)
	}
}

// appendAdvisory appends the encoding of a to b.
func appendAdvisory(b []byte, a *Advisory) []byte {
	e := encoder{b}
	e.str(a.ID)
	e.strs(a.Aliases)
	e.str(a.Summary)
	e.time(a.Published)
	e.time(a.Modified)
	e.uint(uint64(len(a.Severity)))
	for _, s := range a.Severity {
		e.str(s.Type)
		e.str(s.Score)
		e.str(s.Source)
	}
	e.str(a.DatabaseSeverity)
	e.uint(uint64(len(a.References)))
	for _, r := range a.References {
		e.str(r.Type)
		e.str(r.URL)
	}
	e.uint(uint64(len(a.Affected)))
	for i := range a.Affected {
		af := &a.Affected[i]
		e.str(af.Ecosystem)
		e.str(af.Package)
		e.str(af.PURL)
		e.uint(uint64(len(af.Ranges)))
		for _, r := range af.Ranges {
			e.str(r.Type)
			e.str(r.Repo)
			e.uint(uint64(len(r.Events)))
			for _, ev := range r.Events {
				switch {
				case ev.Introduced != "":
					e.uint(0)
					e.str(ev.Introduced)
				case ev.Fixed != "":
					e.uint(1)
					e.str(ev.Fixed)
				case ev.LastAffected != "":
					e.uint(2)
					e.str(ev.LastAffected)
				default:
					e.uint(3)
					e.str(ev.Limit)
				}
			}
		}
		e.strs(af.Versions)
		e.str(af.Source)
		e.bool(af.Distro != nil)
		if d := af.Distro; d != nil {
			e.str(d.Release)
			e.str(d.Status)
			e.str(d.FixedVersion)
			e.str(d.Urgency)
			e.str(d.Note)
		}
		e.strs(af.Platforms)
	}
	e.strs(a.Sources)
	e.bool(a.KEV != nil)
	if k := a.KEV; k != nil {
		e.str(k.CVE)
		e.str(k.DateAdded)
		e.str(k.DueDate)
		e.bool(k.Ransomware)
	}
	e.bool(a.EPSS != nil)
	if p := a.EPSS; p != nil {
		e.str(p.CVE)
		e.float(p.Score)
		e.float(p.Percentile)
	}
	return e.b
}

var errRecord = errors.New("malformed advisory record")

// decoder reads what encoder wrote. The first error sticks and every later
// read returns zero values, so decode functions check err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length for a list whose elements take at least min bytes
// each, refusing lengths the remaining input cannot hold.
func (d *decoder) count(min int) int {
	n := d.uint()
	if n > uint64(len(d.b)/min) {
		d.err = errRecord
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.count(1)
	if d.err != nil || n == 0 {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) strs() []string {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

func (d *decoder) time() time.Time {
	v := d.int()
	if v == math.MinInt64 || d.err != nil {
		return time.Time{}
	}
	return time.Unix(v, 0).UTC()
}

func (d *decoder) float() float64 {
	f := math.Float64frombits(d.uint())
	if math.IsNaN(f) || math.IsInf(f, 0) {
		d.err = errRecord
		return 0
	}
	return f
}
func (d *decoder) bool() bool { return d.uint() == 1 }

// decodeAdvisory decodes one record from the start of b and returns the
// rest of b.
func decodeAdvisory(b []byte) (Advisory, []byte, error) {
	d := decoder{b: b}
	var a Advisory
	a.ID = d.str()
	a.Aliases = d.strs()
	a.Summary = d.str()
	a.Published = d.time()
	a.Modified = d.time()
	if n := d.count(3); n > 0 {
		a.Severity = make([]Severity, n)
		for i := range a.Severity {
			a.Severity[i] = Severity{Type: d.str(), Score: d.str(), Source: d.str()}
		}
	}
	a.DatabaseSeverity = d.str()
	if n := d.count(2); n > 0 {
		a.References = make([]Reference, n)
		for i := range a.References {
			a.References[i] = Reference{Type: d.str(), URL: d.str()}
		}
	}
	if n := d.count(7); n > 0 {
		a.Affected = make([]Affected, n)
		for i := range a.Affected {
			af := &a.Affected[i]
			af.Ecosystem = d.str()
			af.Package = d.str()
			af.PURL = d.str()
			if n := d.count(3); n > 0 {
				af.Ranges = make([]Range, n)
				for j := range af.Ranges {
					r := &af.Ranges[j]
					r.Type = d.str()
					r.Repo = d.str()
					if n := d.count(2); n > 0 {
						r.Events = make([]Event, n)
						for k := range r.Events {
							kind, v := d.uint(), d.str()
							if v == "" {
								d.err = errRecord
							}
							switch kind {
							case 0:
								r.Events[k].Introduced = v
							case 1:
								r.Events[k].Fixed = v
							case 2:
								r.Events[k].LastAffected = v
							case 3:
								r.Events[k].Limit = v
							default:
								d.err = errRecord
							}
						}
					}
				}
			}
			af.Versions = d.strs()
			af.Source = d.str()
			if d.bool() {
				af.Distro = &DistroStatus{Release: d.str(), Status: d.str(), FixedVersion: d.str(), Urgency: d.str(), Note: d.str()}
			}
			af.Platforms = d.strs()
		}
	}
	a.Sources = d.strs()
	if d.bool() {
		a.KEV = &KEV{CVE: d.str(), DateAdded: d.str(), DueDate: d.str(), Ransomware: d.bool()}
	}
	if d.bool() {
		a.EPSS = &EPSS{CVE: d.str(), Score: d.float(), Percentile: d.float()}
	}
	if d.err != nil {
		return Advisory{}, nil, d.err
	}
	return a, d.b, nil
}
