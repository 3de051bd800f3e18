package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"golang.org/x/sync/errgroup"

	"github.com/coattailcapital/coattail/alert"
	"github.com/coattailcapital/coattail/paper"
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

// startSignalSide runs what goes with the signal stage: the anomaly relay and the
// paper runner.
func startSignalSide(ctx context.Context, g *errgroup.Group, d *deps) {
	startAnomalyRelay(ctx, g, d)
	r := d.paperRunner()
	g.Go(func() error { return r.Run(ctx) })
}

// drainSignalSide ends a replay with the anomalies relayed and the paper inbox
// applied, as workers running them would leave it.
func drainSignalSide(ctx context.Context, d *deps) error {
	if err := drainAnomalies(ctx, d); err != nil {
		return err
	}
	if _, err := d.paperRunner().Drain(ctx); err != nil {
		return fmt.Errorf("apply the paper inbox: %w", err)
	}
	return nil
}

// paperTrader is the process's paper trader (the risk gate and the paper executor).
func (d *deps) paperTrader() *paper.Trader {
	if d.trader == nil {
		d.trader = paper.NewTrader(paper.Config{Logger: d.log})
	}
	return d.trader
}

// paperRunner applies the paper inbox the signal stage writes; woken by the stage's
// commits.
func (d *deps) paperRunner() *paper.Runner {
	if d.runner == nil {
		d.runner = paper.NewRunner(d.st, d.paperTrader(), paper.RunnerConfig{Logger: d.log})
	}
	return d.runner
}

// startAnomalyRelay runs the relay that turns the windows stage's anomalies into
// anomaly signals and their alerts. Relays in several processes take turns.
func startAnomalyRelay(ctx context.Context, g *errgroup.Group, d *deps) {
	r := sigengine.NewAnomalyRelay(d.st, sigengine.RelayConfig{OnSignals: alert.Hook, Committed: d.alertsCommitted(), Logger: d.log})
	g.Go(func() error { return r.Run(ctx) })
}

// drainAnomalies relays the anomalies a replay produced before it reports, so a
// replay ends in the same state as workers that ran the relay.
func drainAnomalies(ctx context.Context, d *deps) error {
	r := sigengine.NewAnomalyRelay(d.st, sigengine.RelayConfig{OnSignals: alert.Hook, Committed: d.alertsCommitted(), Logger: d.log})
	if _, err := r.Drain(ctx); err != nil {
		return fmt.Errorf("relay anomalies: %w", err)
	}
	return nil
}
