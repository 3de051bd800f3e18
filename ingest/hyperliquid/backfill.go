package hyperliquid

import (
	"context"
	"fmt"

	"github.com/coattailcapital/coattail/ingest/hyperliquid/userfills"
)

// backfill emits the fills the info API still holds for wallet, oldest first:
// userFills gives the most recent page; when it is full, the older fills are paged
// with userFillsByTime over [BackfillWindow before now, oldest time of the page].
// The page's fills of that oldest millisecond are dropped, since the older pages
// return that millisecond whole.
func (s *Source) backfill(ctx context.Context, out *sink, wallet string) error {
	body, err := s.info.userFills(ctx, wallet)
	if err != nil {
		return fmt.Errorf("userFills %s: %w", wallet, err)
	}
	recent, rej := decodeFills(body, wallet, s.rules)
	if rej != nil {
		return out.put(ctx, []item{rejected(rej, body)})
	}
	s.info.chargeFills(len(recent))
	all := recent
	if oldest, _, ok := timeRange(recent); ok && len(recent) >= s.cfg.FillsPageLimit && s.cfg.BackfillWindow >= 0 {
		var start int64
		if s.cfg.BackfillWindow > 0 {
			start = max(0, s.cfg.Now().Add(-s.cfg.BackfillWindow).UnixMilli())
		}
		older, err := s.pageFills(ctx, out, wallet, start, oldest)
		if err != nil {
			return err
		}
		all = older
		for _, it := range recent {
			if it.ms > oldest || it.ms == userfills.UnknownTime {
				all = append(all, it)
			}
		}
	}
	sortByTime(all)
	items := make([]item, len(all))
	for i := range all {
		items[i] = all[i].item
	}
	s.cfg.Logger.Info("hyperliquid fills backfilled", walletAttr(wallet), "fills", len(items))
	return out.put(ctx, items)
}

// pageFills returns wallet's fills from start to end (ms, inclusive), whatever the
// order in which userFillsByTime truncates a full response. A response holding
// fewer than FillsPageLimit fills is the whole window. A full one is taken to be a
// run of consecutive fills from lo to hi (its lowest and highest times): the fills
// strictly between are kept, and [start, lo] and [hi, end] are asked again, each
// smaller than the window, so the paging ends. A millisecond holding a full page on
// its own cannot be split: its page is kept as it is (possibly truncated; logged).
// A response that cannot be read is dead-lettered and its window skipped.
func (s *Source) pageFills(ctx context.Context, out *sink, wallet string, start, end int64) ([]timedItem, error) {
	var got []timedItem
	windows := [][2]int64{{start, end}}
	for len(windows) > 0 {
		w := windows[len(windows)-1]
		windows = windows[:len(windows)-1]
		if w[0] > w[1] {
			continue
		}
		body, err := s.info.userFillsByTime(ctx, wallet, w[0], w[1])
		if err != nil {
			return nil, fmt.Errorf("userFillsByTime %s [%d, %d]: %w", wallet, w[0], w[1], err)
		}
		page, rej := decodeFills(body, wallet, s.rules)
		if rej != nil {
			if err := out.put(ctx, []item{rejected(rej, body)}); err != nil {
				return nil, err
			}
			continue
		}
		s.info.chargeFills(len(page))
		lo, hi, ok := timeRange(page)
		switch {
		case len(page) < s.cfg.FillsPageLimit || !ok:
			got = append(got, page...)
		case lo < w[0] || hi > w[1]:
			// Paging relies on the window being honoured; without that it might
			// never end.
			s.cfg.Logger.Warn("hyperliquid: userFillsByTime returned fills outside the window; paging stopped",
				walletAttr(wallet), "start", w[0], "end", w[1], "lo", lo, "hi", hi)
			got = append(got, page...)
		case lo == hi:
			s.cfg.Logger.Warn("hyperliquid: a full page of fills in one millisecond; it may be truncated",
				walletAttr(wallet), "ms", lo, "fills", len(page))
			got = append(got, page...)
			windows = append(windows, [2]int64{w[0], lo - 1}, [2]int64{hi + 1, w[1]})
		default:
			for _, it := range page {
				if it.ms > lo && it.ms < hi || it.ms == userfills.UnknownTime {
					got = append(got, it)
				}
			}
			windows = append(windows, [2]int64{w[0], lo}, [2]int64{hi, w[1]})
		}
	}
	return got, nil
}
