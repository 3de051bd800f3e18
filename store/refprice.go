package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/analytics/market"
	"github.com/jackc/pgx/v5"
)

// RefFreshness is how old a venue's last one-minute bar may be (its end before the
// time asked about) and still count towards a coin's reference price. A venue that has
// not traded or quoted for longer is left out rather than let an old close pull the
// median; with no fresh venue a coin has no reference price.
const RefFreshness = 5 * time.Minute

// RefVenue is one venue's latest one-minute bar of a coin that a reference price used.
type RefVenue struct {
	Venue  string  `json:"venue"`
	Symbol string  `json:"symbol"`
	Close  float64 `json:"close"`
	// QuoteVolume is the bar's traded value in its quote (USD or a USD stablecoin),
	// the venue's weight; 0 for a bar of price events (marks, mids), which count with
	// the smallest weight present (market.ReferencePrice).
	QuoteVolume float64   `json:"quote_volume"`
	End         time.Time `json:"end"`
	CloseTS     time.Time `json:"close_ts"`
}

// RefPrice is a coin's cross-venue reference price at a time: the volume-weighted
// median (market.ReferencePrice) of the closes of the latest one-minute bars, ending at
// or before At and at most RefFreshness before it, of every venue quoting the coin in
// USD, USDT or USDC or under the coin's bare name (a mark or mid, as Hyperliquid's).
type RefPrice struct {
	Coin  string    `json:"coin"` // upper case
	Price float64   `json:"price"`
	At    time.Time `json:"at"`
	// TS is the newest close time among the venues used: the price is as of then.
	TS time.Time `json:"ts"`
	// Staleness is At − TS.
	Staleness time.Duration `json:"-"`
	// Venues are the bars used, by venue and symbol.
	Venues []RefVenue `json:"venues"`
}

// ReferencePrice returns the reference price of coin (any case) at at; ErrNotFound
// when no venue has a fresh bar of it.
func (s *Store) ReferencePrice(ctx context.Context, coin string, at time.Time) (RefPrice, error) {
	coin = strings.ToUpper(strings.TrimSpace(coin))
	refs, err := s.referencePrices(ctx, at, []string{coin})
	if err != nil {
		return RefPrice{}, err
	}
	if len(refs) == 0 {
		return RefPrice{}, fmt.Errorf("reference price of %s at %s: %w", coin, at.UTC().Format(time.RFC3339), ErrNotFound)
	}
	return refs[0], nil
}

// ReferencePrices returns the reference price at at of every coin that has one, by
// coin.
func (s *Store) ReferencePrices(ctx context.Context, at time.Time) ([]RefPrice, error) {
	return s.referencePrices(ctx, at, nil)
}

// referencePrices reads each venue's latest fresh one-minute bar (of coins, or of
// every symbol when coins is empty) and combines them per coin. A one-minute bar ends
// a minute after it starts, so the bound on "end" is also one on start, which the
// (res, start) index serves.
func (s *Store) referencePrices(ctx context.Context, at time.Time, coins []string) ([]RefPrice, error) {
	at = at.UTC()
	lo := at.Add(-RefFreshness)
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (venue, symbol) venue, symbol, close, quote_volume, "end", close_ts
		FROM price_bars
		WHERE res = '1m' AND start >= $1 AND start <= $2 AND "end" >= $3 AND "end" <= $4
		  AND (coalesce(cardinality($5::text[]), 0) = 0 OR upper(split_part(symbol, '-', 1)) = ANY($5))
		ORDER BY venue, symbol, start DESC`,
		lo.Add(-time.Minute), at, lo, at, coins)
	if err != nil {
		return nil, fmt.Errorf("reference prices at %s: %w", at.Format(time.RFC3339), err)
	}
	byCoin := map[string][]RefVenue{}
	var v RefVenue
	_, err = pgx.ForEachRow(rows, []any{&v.Venue, &v.Symbol, &v.Close, &v.QuoteVolume, &v.End, &v.CloseTS}, func() error {
		if c, usd := market.Coin(v.Symbol); usd && v.Close > 0 {
			v.End, v.CloseTS = v.End.UTC(), v.CloseTS.UTC()
			byCoin[c] = append(byCoin[c], v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reference prices at %s: %w", at.Format(time.RFC3339), err)
	}
	out := make([]RefPrice, 0, len(byCoin))
	for c, vs := range byCoin {
		if r, ok := combine(c, at, vs); ok {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b RefPrice) int { return cmp.Compare(a.Coin, b.Coin) })
	return out, nil
}

// combine is the reference price of coin at at from its venues' latest bars.
func combine(coin string, at time.Time, vs []RefVenue) (RefPrice, bool) {
	slices.SortFunc(vs, func(a, b RefVenue) int {
		return cmp.Or(cmp.Compare(a.Venue, b.Venue), cmp.Compare(a.Symbol, b.Symbol))
	})
	closes := make([]market.VenueClose, len(vs))
	var ts time.Time
	for i, v := range vs {
		closes[i] = market.VenueClose{Venue: v.Venue, Symbol: v.Symbol, Close: v.Close, Volume: v.QuoteVolume}
		if v.CloseTS.After(ts) {
			ts = v.CloseTS
		}
	}
	px, ok := market.ReferencePrice(closes)
	if !ok {
		return RefPrice{}, false
	}
	return RefPrice{Coin: coin, Price: px, At: at, TS: ts, Staleness: at.Sub(ts), Venues: vs}, true
}

// RefPoint is one point of a reference series: the reference price at a minute's end.
type RefPoint struct {
	End   time.Time
	Price float64
}

// ReferenceSeries returns, for each of coins (any case; the result is keyed in upper
// case) that has one-minute bars
// ending at or before until (zero: all), its reference price at every minute end at
// which some venue's bar ends: each point is what ReferencePrice would answer at that
// time, so a point never uses a price from after it. It reads every such bar of the
// coins: use it for the coins that have no price series of their own.
func (s *Store) ReferenceSeries(ctx context.Context, coins []string, until time.Time) (map[string][]RefPoint, error) {
	out := map[string][]RefPoint{}
	if len(coins) == 0 {
		return out, nil
	}
	upper := make([]string, len(coins))
	for i, c := range coins {
		upper[i] = strings.ToUpper(c)
	}
	var untilArg any
	if !until.IsZero() {
		untilArg = until.UTC()
	}
	rows, err := s.pool.Query(ctx, `SELECT venue, symbol, close, quote_volume, "end", close_ts
		FROM price_bars
		WHERE res = '1m' AND upper(split_part(symbol, '-', 1)) = ANY($1)
		  AND ($2::timestamptz IS NULL OR "end" <= $2)
		ORDER BY "end", venue, symbol`, upper, untilArg)
	if err != nil {
		return nil, fmt.Errorf("reference series of %d coins: %w", len(coins), err)
	}
	type sweep struct {
		latest map[[2]string]RefVenue // by (venue, symbol)
		end    time.Time              // the minute end being gathered
	}
	sw := map[string]*sweep{}
	// emit adds coin's point at the end its sweep gathered.
	emit := func(coin string, st *sweep) {
		lo := st.end.Add(-RefFreshness)
		vs := make([]RefVenue, 0, len(st.latest))
		for k, v := range st.latest {
			if v.End.Before(lo) {
				delete(st.latest, k) // it will never be fresh again: ends only grow
				continue
			}
			vs = append(vs, v)
		}
		if r, ok := combine(coin, st.end, vs); ok {
			out[coin] = append(out[coin], RefPoint{End: st.end, Price: r.Price})
		}
	}
	var v RefVenue
	_, err = pgx.ForEachRow(rows, []any{&v.Venue, &v.Symbol, &v.Close, &v.QuoteVolume, &v.End, &v.CloseTS}, func() error {
		c, usd := market.Coin(v.Symbol)
		if !usd || !(v.Close > 0) {
			return nil
		}
		v.End, v.CloseTS = v.End.UTC(), v.CloseTS.UTC()
		st := sw[c]
		if st == nil {
			st = &sweep{latest: map[[2]string]RefVenue{}, end: v.End}
			sw[c] = st
		}
		if v.End.After(st.end) {
			emit(c, st)
			st.end = v.End
		}
		st.latest[[2]string{v.Venue, v.Symbol}] = v
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reference series of %d coins: %w", len(coins), err)
	}
	for c, st := range sw {
		emit(c, st)
	}
	return out, nil
}
