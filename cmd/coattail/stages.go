package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/coattailcapital/coattail/alert"
	"github.com/coattailcapital/coattail/paper"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/signal"
	"github.com/coattailcapital/coattail/stage"
	"github.com/coattailcapital/coattail/stream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
)

// stageDef names a stream stage and builds it on a connection.
type stageDef struct {
	Name  string // the consumer group, and the --stage name
	Build func(d *deps) pipeline.Stage
}

// stageCatalog lists every stream stage, in start order. `coattail worker --stage`,
// `coattail run` and `coattail replay` (all stages by default) read it, so adding a
// stage is one entry here: a unique group name and a function returning its
// pipeline.Stage{Group, Sink}. The Sink must commit each batch with its checkpoint
// (store.AdvanceCheckpoint) in one transaction.
func stageCatalog() []stageDef {
	return []stageDef{
		// The book and windows stages are off the alert path (the signal stage reads the
		// events itself): their commits linger for more shards' batches, leaving the CPU
		// to the signal stage under load.
		{Name: pipeline.BookGroup, Build: func(d *deps) pipeline.Stage {
			return pipeline.Stage{Group: pipeline.BookGroup, Sink: pipeline.NewBookSink(d.st), Linger: pipeline.OffPathLinger}
		}},
		{Name: stage.WindowsGroup, Build: func(d *deps) pipeline.Stage {
			return pipeline.Stage{Group: stage.WindowsGroup, Linger: pipeline.OffPathLinger,
				Sink: stage.NewWindows(d.st, stage.WindowsConfig{Redis: d.rdb, Stream: d.scf, Logger: d.log})}
		}},
		{Name: signal.Group, Build: func(d *deps) pipeline.Stage {
			// Signals fan out to the alert outbox and into the paper inbox (for the risk
			// gate and the paper trader, applied by the paper runner) in the same
			// transaction that stores them.
			return pipeline.Stage{Group: signal.Group, Sink: signal.NewSink(d.st, signal.Config{
				OnSignals:    alert.Hook,
				Consumers:    []signal.Consumer{paper.NewInbox(d.paperTrader())},
				Context:      signal.ExchangeFlows(d.flow),
				ContextKinds: signal.ExchangeFlowKinds,
				Committed:    d.signalsCommitted(),
				Logger:       d.log,
			})}
		}},
	}
}

// requireEveryStage makes the stream workers started on d trim a stream only once
// every stage of the catalog has its group on it: the long-running commands (run,
// worker) start their sources and groups in no set order, and a stage whose group
// came after the others had trimmed would never see the entries they trimmed (a
// chaos test found the book missing the first ~140 trades of a feed that way). A
// deployment that never runs one of the stages is warned that its streams are not
// trimmed. Replay ensures the groups of its stages before producing instead.
func (d *deps) requireEveryStage() { d.scf.Groups = catalogGroups() }

// catalogGroups lists the catalog's names: its stages' consumer groups.
func catalogGroups() []string {
	var names []string
	for _, s := range stageCatalog() {
		names = append(names, s.Name)
	}
	return names
}

// stageNames lists the catalog's names, for help and errors.
func stageNames() string { return strings.Join(catalogGroups(), ", ") }

// selectStages parses --stage: "all" or a comma-separated list of names.
func selectStages(spec string) ([]stageDef, error) {
	list := splitCSV(spec)
	if len(list) == 0 || slices.Contains(list, "all") {
		return stageCatalog(), nil
	}
	var out []stageDef
	for _, name := range list {
		i := slices.IndexFunc(stageCatalog(), func(s stageDef) bool { return s.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("%w: unknown stage %q (available: %s, or all)", errUsage, name, stageNames())
		}
		if !slices.ContainsFunc(out, func(s stageDef) bool { return s.Name == name }) {
			out = append(out, stageCatalog()[i])
		}
	}
	return out, nil
}

// buildStages builds the selected stages on d.
func buildStages(d *deps, defs []stageDef) []pipeline.Stage {
	out := make([]pipeline.Stage, len(defs))
	for i, s := range defs {
		out[i] = s.Build(d)
	}
	return out
}

// runStages starts one consumer group per stage in g, with gc's settings and metrics,
// and returns the groups' owner names.
func runStages(ctx context.Context, g *errgroup.Group, d *deps, stages []pipeline.Stage, gc stream.GroupConfig, m *pipeline.Metrics) ([]string, error) {
	var owners []string
	for _, s := range stages {
		c := gc
		c.Group = s.Group
		if c.Linger == 0 {
			c.Linger = s.Linger
		}
		if c.Logger == nil {
			c.Logger = d.log
		}
		grp, err := stream.NewGroup(d.rdb, d.scf, c, s.Sink)
		if err != nil {
			return nil, err
		}
		grp.SetObserver(m.ObserveBatch(s.Group))
		owners = append(owners, grp.Owner())
		g.Go(func() error { return grp.Run(ctx) })
	}
	return owners, nil
}

// registerStageMetrics adds the consumer-group lag of the stages and the watermark
// delay of the windowed stage to reg.
func registerStageMetrics(reg *prometheus.Registry, d *deps, stages []pipeline.Stage) {
	groups := make([]string, len(stages))
	for i, s := range stages {
		groups[i] = s.Group
	}
	reg.MustRegister(pipeline.NewLagCollector(d.rdb, d.scf, d.st, groups, []string{stage.WindowsGroup}))
	d.sig.register(reg)
}
