// Package metrics is the Prometheus view of `bulwark server`: the stored
// images by state, their open findings by severity and how many are
// stale (read from the store at scrape time, at most every CacheFor),
// counters and durations of image reads and database refreshes, and the
// duration of every HTTP request by route.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bulwark-sec/bulwark/internal/server/store"
)

// CacheFor is how long the store's figures are reused between scrapes.
const CacheFor = 15 * time.Second

// Metrics holds the server's collectors.
type Metrics struct {
	reg       *prometheus.Registry
	reads     *prometheus.CounterVec
	readTime  prometheus.Histogram
	refreshes *prometheus.CounterVec
	refTime   prometheus.Histogram
	rematched prometheus.Counter
	updates   *prometheus.CounterVec
	httpTime  *prometheus.HistogramVec
}

// New registers the collectors; st and dbVersion give the store's
// figures and the database version in use (for staleness).
func New(st store.Store, dbVersion func() string) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bulwark_image_reads_total",
			Help: "Images read from a registry (ingest jobs), by result (done, failed)."}, []string{"result"}),
		readTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bulwark_image_read_duration_seconds",
			Help: "Time to read, scan and store one image.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bulwark_db_refreshes_total",
			Help: "Vulnerability database refreshes, by result (changed, unchanged, failed)."}, []string{"result"}),
		refTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bulwark_db_refresh_duration_seconds",
			Help: "Time to swap in a database and re-match the images its changes touch.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 16)}),
		rematched: prometheus.NewCounter(prometheus.CounterOpts{Name: "bulwark_images_rematched_total",
			Help: "Images re-matched from their stored inventory after a database change."}),
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bulwark_db_updates_total",
			Help: "Scheduled database updates run by this server (pull and refresh), by result (done, failed)."}, []string{"result"}),
		httpTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bulwark_http_request_duration_seconds",
			Help: "HTTP requests served, by route pattern, method and status code.", Buckets: prometheus.DefBuckets}, []string{"route", "method", "code"}),
	}
	m.reg.MustRegister(m.reads, m.readTime, m.refreshes, m.refTime, m.rematched, m.updates, m.httpTime,
		&storeCollector{st: st, dbVersion: dbVersion}, &updateCollector{st: st},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Read records one image read.
func (m *Metrics) Read(d time.Duration, err error) {
	result := store.StateDone
	if err != nil {
		result = store.StateFailed
	}
	m.reads.WithLabelValues(result).Inc()
	m.readTime.Observe(d.Seconds())
}

// Refresh records one database refresh (changed tells whether the
// database file had changed).
func (m *Metrics) Refresh(d time.Duration, changed bool, err error) {
	result := "unchanged"
	switch {
	case err != nil:
		result = "failed"
	case changed:
		result = "changed"
	}
	m.refreshes.WithLabelValues(result).Inc()
	m.refTime.Observe(d.Seconds())
}

// Rematched counts images re-matched by a re-match job.
func (m *Metrics) Rematched(n int) { m.rematched.Add(float64(n)) }

// DBUpdate records one scheduled database update.
func (m *Metrics) DBUpdate(err error) {
	result := store.StateDone
	if err != nil {
		result = store.StateFailed
	}
	m.updates.WithLabelValues(result).Inc()
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Instrument times every request h serves, labelled with the route
// pattern the ServeMux matched (so that digests do not make new series).
func (m *Metrics) Instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		m.httpTime.WithLabelValues(route, r.Method, strconv.Itoa(sw.code)).Observe(time.Since(start).Seconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var (
	imagesDesc   = prometheus.NewDesc("bulwark_images", "Stored images by state (pending, done, failed).", []string{"state"}, nil)
	staleDesc    = prometheus.NewDesc("bulwark_images_stale", "Read images whose findings come from another database version than the one in use.", nil, nil)
	findingsDesc = prometheus.NewDesc("bulwark_findings", "Open findings of the read images, by severity.", []string{"severity"}, nil)
	upDesc       = prometheus.NewDesc("bulwark_store_up", "1 when the store answered the last scrape.", nil, nil)
)

// storeCollector reads the store's figures at scrape time, reusing them
// for CacheFor.
type storeCollector struct {
	st        store.Store
	dbVersion func() string

	mu       sync.Mutex
	at       time.Time
	states   map[string]int
	stale    int
	severity map[string]int
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- imagesDesc
	ch <- staleDesc
	ch <- findingsDesc
	ch <- upDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > CacheFor {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st, err := c.st.Stats(ctx, c.dbVersion())
		if err != nil {
			ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 0)
			return
		}
		c.states, c.stale, c.severity = st.States, st.Stale, st.Findings
		c.at = time.Now()
	}
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 1)
	for st, n := range c.states {
		ch <- prometheus.MustNewConstMetric(imagesDesc, prometheus.GaugeValue, float64(n), st)
	}
	ch <- prometheus.MustNewConstMetric(staleDesc, prometheus.GaugeValue, float64(c.stale))
	for sev, n := range c.severity {
		ch <- prometheus.MustNewConstMetric(findingsDesc, prometheus.GaugeValue, float64(n), sev)
	}
}

var (
	updateSuccessDesc = prometheus.NewDesc("bulwark_db_update_last_success_timestamp_seconds",
		"When the last successful scheduled database update (of any server on the store) started, in Unix seconds.", nil, nil)
	updateFailingDesc = prometheus.NewDesc("bulwark_db_update_failing",
		"1 when the last scheduled database update (of any server on the store) failed.", nil, nil)
)

// updateCollector reads the store's record of the database update
// schedule at scrape time; nothing before the first update.
type updateCollector struct{ st store.Store }

func (c *updateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- updateSuccessDesc
	ch <- updateFailingDesc
}

func (c *updateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u, err := c.st.DBUpdate(ctx)
	if err != nil || u == nil {
		return
	}
	if u.LastSuccess != nil {
		ch <- prometheus.MustNewConstMetric(updateSuccessDesc, prometheus.GaugeValue, float64(u.LastSuccess.UnixNano())/1e9)
	}
	failing := 0.0
	if u.Error != "" {
		failing = 1
	}
	ch <- prometheus.MustNewConstMetric(updateFailingDesc, prometheus.GaugeValue, failing)
}
