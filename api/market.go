package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/analytics/market"
	"github.com/coattailcapital/coattail/store"
)

// The windowed analytics' results (migration 007): anomalies, exchange flows and
// price bars, read from the tables the windows stage writes.

// anomalyKinds are the kinds the detectors produce (analytics/market).
var anomalyKinds = []string{market.KindVolumeSpike, market.KindLargeTrade, market.KindPriceMove,
	market.KindLargeDeposit, market.KindLargeWithdrawal}

// queryError is a bad query parameter: answered 400 with its text.
type queryError struct{ msg string }

func (e queryError) Error() string { return e.msg }

func badQuery(format string, a ...any) error { return queryError{fmt.Sprintf(format, a...)} }

// parseLimit reads ?limit= as an integer 1..most, def when absent.
func parseLimit(v url.Values, def, most int) (int, error) {
	s := v.Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		return 0, badQuery("limit must be an integer 1..%d", most)
	}
	return n, nil
}

// parseSince reads ?since= as an RFC 3339 time or as a duration back from now ("24h",
// "90m"); zero when absent.
func parseSince(v url.Values, now time.Time) (time.Time, error) {
	s := strings.TrimSpace(v.Get("since"))
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, badQuery("since must be an RFC 3339 time (2026-02-04T10:00:00Z) or a duration back from now (24h)")
}

// parseAnomalyQuery reads GET /api/anomalies' filters: symbol, kind, since, limit.
func parseAnomalyQuery(v url.Values, now time.Time) (store.AnomalyQuery, error) {
	q := store.AnomalyQuery{Symbol: strings.TrimSpace(v.Get("symbol")), Kind: strings.TrimSpace(v.Get("kind"))}
	if q.Kind != "" && !slices.Contains(anomalyKinds, q.Kind) {
		return q, badQuery("kind must be one of %s", strings.Join(anomalyKinds, ", "))
	}
	var err error
	if q.Since, err = parseSince(v, now); err != nil {
		return q, err
	}
	q.Limit, err = parseLimit(v, 50, 1000)
	return q, err
}

// parseFlowQuery reads GET /api/flows' filters: token, exchange, window, since, limit.
func parseFlowQuery(v url.Values, now time.Time) (store.FlowQuery, error) {
	q := store.FlowQuery{Token: strings.TrimSpace(v.Get("token")), Exchange: strings.TrimSpace(v.Get("exchange")),
		Window: strings.TrimSpace(v.Get("window"))}
	if q.Window != "" && q.Window != "1h" && q.Window != "1d" {
		return q, badQuery("window must be 1h or 1d")
	}
	var err error
	if q.Since, err = parseSince(v, now); err != nil {
		return q, err
	}
	q.Limit, err = parseLimit(v, 50, 1000)
	return q, err
}

// parseBarQuery reads GET /api/bars' parameters: symbol (required), venue, interval
// (1m, 5m or 1h; default 1m), limit.
func parseBarQuery(v url.Values) (store.BarQuery, error) {
	q := store.BarQuery{Symbol: strings.TrimSpace(v.Get("symbol")), Venue: strings.TrimSpace(v.Get("venue")),
		Interval: strings.TrimSpace(v.Get("interval"))}
	if q.Symbol == "" {
		return q, badQuery("symbol is required, e.g. ?symbol=ETH-USDT")
	}
	if q.Interval == "" {
		q.Interval = "1m"
	}
	if q.Interval != "1m" && q.Interval != "5m" && q.Interval != "1h" {
		return q, badQuery("interval must be 1m, 5m or 1h")
	}
	var err error
	q.Limit, err = parseLimit(v, 100, 1000)
	return q, err
}

// anomalies is GET /api/anomalies: detected anomalies, newest first.
func (s *Server) anomalies(w http.ResponseWriter, r *http.Request) {
	q, err := parseAnomalyQuery(r.URL.Query(), time.Now())
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	rows, err := s.cfg.Store.Anomalies(r.Context(), q)
	if err != nil {
		s.fail(w, "anomalies", err)
		return
	}
	writeJSON(w, http.StatusOK, nonNil(rows))
}

// flows is GET /api/flows: exchange flows per token, exchange and window, newest
// window first, summed over the shards that computed them.
func (s *Server) flows(w http.ResponseWriter, r *http.Request) {
	q, err := parseFlowQuery(r.URL.Query(), time.Now())
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	rows, err := s.cfg.Store.Flows(r.Context(), q)
	if err != nil {
		s.fail(w, "flows", err)
		return
	}
	writeJSON(w, http.StatusOK, nonNil(rows))
}

// bars is GET /api/bars: a symbol's latest price bars, oldest first.
func (s *Server) bars(w http.ResponseWriter, r *http.Request) {
	q, err := parseBarQuery(r.URL.Query())
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	rows, err := s.cfg.Store.Bars(r.Context(), q)
	if err != nil {
		s.fail(w, "bars", err)
		return
	}
	writeJSON(w, http.StatusOK, nonNil(rows))
}

// nonNil makes an empty result encode as [] rather than null.
func nonNil[T any](rows []T) []T {
	if rows == nil {
		return []T{}
	}
	return rows
}
