package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/quality"
	"github.com/coattailcapital/coattail/store"
)

// startReferences reads the coins' cross-venue reference prices now, to seed the live
// sources' quality gates (seedGate). A failed read is logged, not fatal: the gates
// then start unseeded, as a first start with no bars does.
func startReferences(ctx context.Context, st *store.Store, log *slog.Logger) []store.RefPrice {
	refs, err := st.ReferencePrices(ctx, time.Now())
	if err != nil {
		log.Warn("no reference prices to seed the quality gates with: a source's first price of each coin becomes its reference", "err", err)
		return nil
	}
	log.Info("quality gates seeded with reference prices", "coins", len(refs))
	return refs
}

// seedGate gives in the live quality gate of cfg seeded with refs, so that the first
// price of each coin a restarted source sees is judged against the market
// (quality.Gate.SeedReference) instead of becoming the reference whatever it is.
func seedGate(in *pipeline.Ingress, cfg quality.Config, refs []store.RefPrice) error {
	g, err := quality.NewGate(cfg)
	if err != nil {
		return err
	}
	for _, r := range refs {
		g.SeedReference(r.Coin, r.Price, r.TS)
	}
	in.SetGate(g)
	return nil
}
