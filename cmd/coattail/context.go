package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"golang.org/x/sync/errgroup"

	"github.com/coattailcapital/coattail/alert"
	sigengine "github.com/coattailcapital/coattail/signal"
)

// flowConfig reads COATTAIL_FLOW_MIN_USD, the smallest exchange deposit or withdrawal
// (USD) that fires an exchange_flow signal; default 1,000,000.
func flowConfig(getenv func(string) string) (sigengine.FlowConfig, error) {
	var c sigengine.FlowConfig
	v := getenv("COATTAIL_FLOW_MIN_USD")
	if v == "" {
		return c, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0) {
		return c, fmt.Errorf("%w: COATTAIL_FLOW_MIN_USD %q: want a positive number of USD, e.g. 1000000", errUsage, v)
	}
	c.MinUSD = f
	return c, nil
}

// hasSignalStage reports whether defs include the signal stage.
func hasSignalStage(defs []stageDef) bool {
	return slices.ContainsFunc(defs, func(s stageDef) bool { return s.Name == sigengine.Group })
}

// startAnomalyRelay runs the relay that turns the windows stage's anomalies into
// anomaly signals and their alerts. Relays in several processes take turns.
func startAnomalyRelay(ctx context.Context, g *errgroup.Group, d *deps) {
	r := sigengine.NewAnomalyRelay(d.st, sigengine.RelayConfig{OnSignals: alert.Hook, Logger: d.log})
	g.Go(func() error { return r.Run(ctx) })
}

// drainAnomalies relays the anomalies a replay produced before it reports, so a
// replay ends in the same state as workers that ran the relay.
func drainAnomalies(ctx context.Context, d *deps) error {
	r := sigengine.NewAnomalyRelay(d.st, sigengine.RelayConfig{OnSignals: alert.Hook, Logger: d.log})
	if _, err := r.Drain(ctx); err != nil {
		return fmt.Errorf("relay anomalies: %w", err)
	}
	return nil
}
