package binance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/parse"
)

// maxRESTBytes bounds one REST response (1000 aggregate trades are about 120 KB).
const maxRESTBytes = 8 << 20

// backfill emits, from the REST API, the trades of st after its last emitted id, up
// to at least target-1 when the bounded number of pages allows. It stops early when
// Binance has nothing newer. Errors other than *backoff.Permanent are the REST failures, for
// the caller to log.
func (r *runner) backfill(ctx context.Context, st *symState, target int64) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.BackfillTimeout)
	defer cancel()
	for page := 0; page < r.cfg.BackfillPages; page++ {
		from := st.last.Load() + 1
		items, err := r.fetch(ctx, st.wire, from)
		if err != nil {
			return err
		}
		for _, raw := range items {
			var (
				t   trade
				rej *event.Reject
			)
			if r.cfg.Stream == StreamAggTrade {
				t, rej = decodeAggTrade(raw, st.wire)
			} else {
				t, rej = decodeHistorical(raw, st.wire)
			}
			if t.id != absent && t.id <= st.last.Load() {
				continue
			}
			if rej != nil {
				if err := r.deadLetter(ctx, rej, raw); err != nil {
					return err
				}
				if t.id != absent {
					st.last.Store(t.id) // a bad trade with a good id is accounted for
				}
				continue
			}
			if err := r.emitTrade(ctx, st, &t, raw); err != nil {
				return err
			}
			r.counter.backfilled.Add(1)
		}
		if st.last.Load() >= target-1 || len(items) < r.cfg.BackfillLimit || st.last.Load() < from {
			return nil // closed, or Binance has nothing more, or no progress
		}
	}
	return nil
}

// fetch requests one page of trades of a symbol from id from on.
func (r *runner) fetch(ctx context.Context, wire string, from int64) ([]json.RawMessage, error) {
	path := "/api/v3/aggTrades"
	if r.cfg.Stream == StreamTrade {
		path = "/api/v3/historicalTrades"
	}
	q := url.Values{}
	q.Set("symbol", wire)
	q.Set("fromId", strconv.FormatInt(from, 10))
	q.Set("limit", strconv.Itoa(r.cfg.BackfillLimit))
	u := strings.TrimRight(r.cfg.RESTURL, "/") + path + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("backfill %s from %d: %w", wire, from, err)
	}
	r.counter.requests.Add(1)
	resp, err := r.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("backfill %s from %d: %w", wire, from, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRESTBytes))
	if err != nil {
		return nil, fmt.Errorf("backfill %s from %d: read: %w", wire, from, err)
	}
	if resp.StatusCode != http.StatusOK {
		// 429 and 418 are Binance's rate limits; the gap is reported, not waited out.
		return nil, fmt.Errorf("backfill %s from %d: HTTP %d: %s (retry-after %q)",
			wire, from, resp.StatusCode, parse.Clip(string(body)), resp.Header.Get("Retry-After"))
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, fmt.Errorf("backfill %s from %d: decode: %w", wire, from, err)
	}
	return items, nil
}
