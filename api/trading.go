package api

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/coattailcapital/coattail/paper"
	"github.com/coattailcapital/coattail/risk"
	"github.com/coattailcapital/coattail/store"
)

// The paper trader's and the risk gate's state, read through their own services (the
// same reads as `coattail paper`, `coattail risk` and the bots' admin commands).

// PaperState is GET /api/paper.
type PaperState struct {
	Scopes []PaperScope `json:"scopes"`
}

// PaperScope is one paper trading scope: the toggle, the account, what is open, what
// happened lately and the equity curve.
type PaperScope struct {
	Scope   string `json:"scope"`
	Enabled bool   `json:"enabled"`
	// Status is null for a scope that was switched off before it ever had an account.
	Status    *paper.Status     `json:"status"`
	Positions []paper.Position  `json:"positions"` // open and pending, oldest first
	Closed    []paper.Position  `json:"closed"`    // the latest closed, newest first
	Fills     []store.PaperFill `json:"fills"`     // the latest fills, newest first
	// Equity is the equity curve, oldest first, thinned to at most maxEquityPoints
	// points (the first and the last are always kept).
	Equity []paper.Point `json:"equity"`
}

// maxEquityPoints bounds the equity curve of one answer: the curve has a point per
// price time the equity changed, far more than a chart can show.
const maxEquityPoints = 500

// parsePaperQuery reads GET /api/paper's parameters: scope (optional; all scopes when
// absent) and limit (closed positions and fills per scope, default 20).
func parsePaperQuery(v url.Values) (scope string, limit int, err error) {
	scope = strings.TrimSpace(v.Get("scope"))
	if scope != "" {
		if err := paper.ValidScope(scope); err != nil {
			return "", 0, badQuery("%s", err.Error())
		}
	}
	limit, err = parseLimit(v, 20, 1000)
	return scope, limit, err
}

// paperState is GET /api/paper.
func (s *Server) paperState(w http.ResponseWriter, r *http.Request) {
	scope, limit, err := parsePaperQuery(r.URL.Query())
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	ctx := r.Context()
	svc := paper.NewService(s.cfg.Store, paper.Config{})
	toggles, err := svc.Scopes(ctx)
	if err != nil {
		s.fail(w, "paper scopes", err)
		return
	}
	var names []string
	if scope != "" {
		if _, ok := toggles[scope]; !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "paper trading was never enabled for " + scope})
			return
		}
		names = []string{scope}
	} else {
		for n := range toggles {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	out := PaperState{Scopes: []PaperScope{}}
	for _, n := range names {
		ps := PaperScope{Scope: n, Enabled: toggles[n]}
		st, err := svc.Status(ctx, n)
		switch {
		case errors.Is(err, paper.ErrNoAccount):
		case err != nil:
			s.fail(w, "paper status", err)
			return
		default:
			ps.Status = &st
		}
		if ps.Positions, err = svc.Positions(ctx, n); err == nil {
			if ps.Closed, err = svc.History(ctx, n, limit); err == nil {
				if ps.Fills, err = s.cfg.Store.PaperFills(ctx, n, limit); err == nil {
					ps.Equity, err = svc.Equity(ctx, n)
				}
			}
		}
		if err != nil {
			s.fail(w, "paper "+n, err)
			return
		}
		ps.Positions, ps.Closed, ps.Fills = nonNil(ps.Positions), nonNil(ps.Closed), nonNil(ps.Fills)
		ps.Equity = thin(nonNil(ps.Equity), maxEquityPoints)
		out.Scopes = append(out.Scopes, ps)
	}
	writeJSON(w, http.StatusOK, out)
}

// thin keeps at most n points of a curve, evenly spaced, always with its first and
// last point.
func thin(pts []paper.Point, n int) []paper.Point {
	if len(pts) <= n || n < 2 {
		return pts
	}
	out := make([]paper.Point, 0, n)
	step := float64(len(pts)-1) / float64(n-1)
	for i := range n - 1 {
		out = append(out, pts[int(float64(i)*step)])
	}
	return append(out, pts[len(pts)-1])
}

// riskState is GET /api/risk: the gate's settings, kill switch and circuit breakers.
func (s *Server) riskState(w http.ResponseWriter, r *http.Request) {
	v, err := risk.NewService(s.cfg.Store).Show(r.Context())
	if err != nil {
		s.fail(w, "risk", err)
		return
	}
	if v.Breakers == nil {
		v.Breakers = []risk.Breaker{}
	}
	writeJSON(w, http.StatusOK, v)
}

// riskChecks are the gate's check names, as stored in a rejection.
var riskChecks = []string{risk.CheckKillSwitch, risk.CheckBreaker, risk.CheckPrice, risk.CheckLiquidity,
	risk.CheckSize, risk.CheckPositionShare, risk.CheckGrossExposure, risk.CheckOpenPositions,
	risk.CheckCooldown, risk.CheckDailyLoss, risk.CheckDrawdown}

// parseDecisionQuery reads GET /api/risk/decisions' filters: rejected (true: only
// rejections), check (only rejections by that check), scope, limit.
func parseDecisionQuery(v url.Values) (risk.DecisionQuery, error) {
	q := risk.DecisionQuery{Scope: strings.TrimSpace(v.Get("scope")), Check: strings.TrimSpace(v.Get("check"))}
	if q.Scope != "" {
		if err := paper.ValidScope(q.Scope); err != nil {
			return q, badQuery("%s", err.Error())
		}
	}
	if s := v.Get("rejected"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return q, badQuery("rejected must be true or false")
		}
		q.Rejected = b
	}
	if q.Check != "" && !slices.Contains(riskChecks, q.Check) {
		return q, badQuery("check must be one of %s", strings.Join(riskChecks, ", "))
	}
	var err error
	q.Limit, err = parseLimit(v, 50, 1000)
	return q, err
}

// riskDecisions is GET /api/risk/decisions: the gate's decisions, newest first.
func (s *Server) riskDecisions(w http.ResponseWriter, r *http.Request) {
	q, err := parseDecisionQuery(r.URL.Query())
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	rows, err := risk.NewService(s.cfg.Store).Decisions(r.Context(), q)
	if err != nil {
		s.fail(w, "risk decisions", err)
		return
	}
	for i := range rows {
		if rows[i].Checks == nil {
			rows[i].Checks = []risk.CheckResult{}
		}
	}
	writeJSON(w, http.StatusOK, nonNil(rows))
}
