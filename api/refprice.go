package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/store"
)

// refPriceView is a coin's reference price as the API answers it: the store's, with
// its staleness in seconds.
type refPriceView struct {
	store.RefPrice
	StalenessSeconds float64 `json:"staleness_seconds"`
}

// refPricesView is GET /api/prices/reference's answer.
type refPricesView struct {
	At               time.Time      `json:"at"`
	FreshnessSeconds float64        `json:"freshness_seconds"`
	Prices           []refPriceView `json:"prices"`
}

// referencePrices is GET /api/prices/reference[?coin=ETH][&at=RFC3339]: the cross-venue
// reference price (store.ReferencePrice) of every coin that has one at at (default
// now), or of one coin, 404 when it has none.
func (s *Server) referencePrices(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	at := time.Now().UTC()
	if v := strings.TrimSpace(qs.Get("at")); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "at must be an RFC 3339 time, e.g. 2026-02-04T10:00:00Z"})
			return
		}
		at = t.UTC()
	}
	coin := strings.ToUpper(strings.TrimSpace(qs.Get("coin")))
	var refs []store.RefPrice
	if coin == "" {
		var err error
		if refs, err = s.cfg.Store.ReferencePrices(r.Context(), at); err != nil {
			s.fail(w, "reference prices", err)
			return
		}
	} else {
		ref, err := s.cfg.Store.ReferencePrice(r.Context(), coin, at)
		switch {
		case errors.Is(err, store.ErrNotFound):
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf(
				"no reference price of %s at %s: no venue quoting it in USD has a one-minute bar ending in the %s before",
				coin, at.Format(time.RFC3339), store.RefFreshness)})
			return
		case err != nil:
			s.fail(w, "reference price", err)
			return
		}
		refs = []store.RefPrice{ref}
	}
	out := refPricesView{At: at, FreshnessSeconds: store.RefFreshness.Seconds(), Prices: make([]refPriceView, len(refs))}
	for i, p := range refs {
		out.Prices[i] = refPriceView{RefPrice: p, StalenessSeconds: p.Staleness.Seconds()}
	}
	writeJSON(w, http.StatusOK, out)
}
