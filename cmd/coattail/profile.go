package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/store"
)

// walletProfile returns the wallet's whale profile, nil when the windows stage has not
// profiled it. cmdWallet shows it with printProfile, and in --json under "profile"
// (null when nil).
func walletProfile(ctx context.Context, st *store.Store, addr string) (*store.ProfileRow, error) {
	p, err := st.WalletProfile(ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// printProfile writes the profile's lines of `coattail wallet`.
func printProfile(w io.Writer, p *store.ProfileRow) {
	if p == nil {
		fmt.Fprintln(w, "profile: none yet (the windows stage profiles wallets from their fills and swaps)")
		return
	}
	hold := "unknown"
	if p.TypicalHoldSeconds != nil {
		hold = (time.Duration(*p.TypicalHoldSeconds) * time.Second).Round(time.Second).String()
	}
	var flags []string
	if p.BotHighFrequency {
		flags = append(flags, "bot: many trades a minute")
	}
	if p.BotMarketMaker {
		flags = append(flags, "bot: market-making pattern")
	}
	if len(flags) == 0 {
		flags = append(flags, "no bot flags")
	}
	fmt.Fprintf(w, "profile: %s  volume %.2f USD over %d trades  avg %.2f  largest %.2f  typical hold %s\n",
		p.Style, p.VolumeUSD, p.Trades, p.AvgSizeUSD, p.LargestUSD, hold)
	fmt.Fprintf(w, "         coins %s  first seen %s  last seen %s  bought %.0f%%  max %d trades/min  %s\n",
		strings.Join(p.Coins, ","), p.FirstSeen.Format(time.RFC3339), p.LastSeen.Format(time.RFC3339),
		100*p.BuyShare, p.MaxTradesPerMinute, strings.Join(flags, ", "))
}
