package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/ingest"
	"github.com/coattailcapital/coattail/ingest/binance"
	"github.com/coattailcapital/coattail/ingest/coinbase"
	"github.com/coattailcapital/coattail/ingest/evm"
	"github.com/coattailcapital/coattail/ingest/hyperliquid"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/ethereum/go-ethereum/common"
	"golang.org/x/sync/errgroup"
)

// sourceNames are the sources `run` and `ingest` know; "demo" is the generated market.
func sourceNames() []string {
	return []string{"demo", "binance", "coinbase", "hyperliquid", "ethereum"}
}

// parseSources validates a comma-separated source list.
func parseSources(s string) ([]string, error) {
	list := splitCSV(strings.ToLower(s))
	if len(list) == 0 {
		return nil, fmt.Errorf("%w: no source given (available: %s)", errUsage, strings.Join(sourceNames(), ", "))
	}
	seen := map[string]bool{}
	for _, n := range list {
		known := false
		for _, k := range sourceNames() {
			known = known || n == k
		}
		if !known {
			return nil, fmt.Errorf("%w: unknown source %q (available: %s)", errUsage, n, strings.Join(sourceNames(), ", "))
		}
		if seen[n] {
			return nil, fmt.Errorf("%w: source %q listed twice", errUsage, n)
		}
		seen[n] = true
	}
	return list, nil
}

// liveSource builds one live source from its COATTAIL_<SOURCE>_* variables, resumed
// from pos, its checkpoint saved by the last run (nil: none). Defaults reach the
// public endpoints; the URL variables point a source at a proxy, a self-hosted
// gateway or a test server.
func liveSource(name string, getenv func(string) string, log *slog.Logger, pos []byte) (ingest.Source, error) {
	list := func(key, def string) []string { return splitCSV(env(getenv, key, def)) }
	var (
		src ingest.Source
		err error
	)
	switch name {
	case "binance":
		cfg := binance.Config{
			BaseURL: env(getenv, "BINANCE_WS_URL", ""),
			RESTURL: env(getenv, "BINANCE_REST_URL", ""),
			Symbols: list("BINANCE_SYMBOLS", "BTC-USDT,ETH-USDT,SOL-USDT"),
			Stream:  env(getenv, "BINANCE_STREAM", ""),
			Logger:  log.With("source", name),
		}
		if cfg, err = resume(name, cfg, pos, binance.Config.WithCheckpoint); err != nil {
			return nil, err
		}
		src, err = binance.New(cfg)
	case "coinbase":
		cfg := coinbase.Config{
			URL:        env(getenv, "COINBASE_WS_URL", ""),
			ProductIDs: list("COINBASE_PRODUCTS", "BTC-USD,ETH-USD"),
			Logger:     log.With("source", name),
		}
		if cfg, err = resume(name, cfg, pos, coinbase.Config.WithCheckpoint); err != nil {
			return nil, err
		}
		src, err = coinbase.New(cfg)
	case "hyperliquid":
		cfg := hyperliquid.Config{
			WSURL:   env(getenv, "HYPERLIQUID_WS_URL", ""),
			InfoURL: env(getenv, "HYPERLIQUID_INFO_URL", ""),
			Coins:   list("HYPERLIQUID_COINS", "BTC,ETH,SOL"),
			Wallets: list("HYPERLIQUID_WALLETS", ""),
			Logger:  log.With("source", name),
		}
		if cfg, err = resume(name, cfg, pos, hyperliquid.Config.WithCheckpoint); err != nil {
			return nil, err
		}
		src, err = hyperliquid.New(cfg)
	case "ethereum":
		rpc := env(getenv, "ETH_RPC_URL", "")
		if rpc == "" {
			return nil, fmt.Errorf("%w: source ethereum needs COATTAIL_ETH_RPC_URL (ws:// or http:// endpoint of a node or provider)", errUsage)
		}
		cfg := evm.Config{RPCURL: rpc, Logger: log.With("source", name)}
		if v := getenv("COATTAIL_ETH_CONFIRMATIONS"); v != "" {
			if _, err := fmt.Sscanf(v, "%d", &cfg.Confirmations); err != nil || cfg.Confirmations < evm.AtHead {
				return nil, fmt.Errorf("%w: COATTAIL_ETH_CONFIRMATIONS %q: want blocks behind the head (0: default 12, -1: at the head)", errUsage, v)
			}
		}
		if v := getenv("COATTAIL_ETH_FROM_BLOCK"); v != "" {
			if _, err := fmt.Sscanf(v, "%d", &cfg.FromBlock); err != nil {
				return nil, fmt.Errorf("%w: COATTAIL_ETH_FROM_BLOCK %q: want a block number", errUsage, v)
			}
		}
		if v := getenv("COATTAIL_ETH_NATIVE_MIN_WEI"); v != "" {
			n, ok := new(big.Int).SetString(v, 10)
			if !ok || n.Sign() < 0 {
				return nil, fmt.Errorf("%w: COATTAIL_ETH_NATIVE_MIN_WEI %q: want a non-negative integer (0 turns native transfers off)", errUsage, v)
			}
			cfg.NativeMinWei = n
		}
		for _, t := range list("ETH_TOKENS", "") {
			if !common.IsHexAddress(t) {
				return nil, fmt.Errorf("%w: COATTAIL_ETH_TOKENS entry %q is not an address", errUsage, t)
			}
			cfg.Tokens = append(cfg.Tokens, common.HexToAddress(t))
		}
		if cfg, err = resume(name, cfg, pos, evm.Config.WithCheckpoint); err != nil {
			return nil, err
		}
		src, err = evm.New(cfg)
	default:
		return nil, fmt.Errorf("%w: %q is not a live source", errUsage, name)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: source %s: %v", errUsage, name, err)
	}
	return src, nil
}

// withFromBlock returns getenv with COATTAIL_ETH_FROM_BLOCK set to n, for `ingest
// --from-block N`: the Ethereum source then starts at block n, whatever the
// variable says, and over its stored checkpoint (an explicit start wins over a
// checkpoint, evm.Config.WithCheckpoint).
func withFromBlock(getenv func(string) string, n uint64) func(string) string {
	v := strconv.FormatUint(n, 10)
	return func(key string) string {
		if key == "COATTAIL_ETH_FROM_BLOCK" {
			return v
		}
		return getenv(key)
	}
}

// resume applies a source's stored checkpoint to its configuration with the
// adapter's WithCheckpoint. A checkpoint the adapter cannot read stops the start
// rather than silently starting at the live edge, which would skip what happened
// while the process was down.
func resume[C any](name string, cfg C, pos []byte, with func(C, []byte) (C, error)) (C, error) {
	out, err := with(cfg, pos)
	if err != nil {
		return cfg, fmt.Errorf("source %s: stored checkpoint %s: %w (deleting its row, DELETE FROM source_checkpoints WHERE source = '%s', starts it at the live edge)",
			name, pos, err, name)
	}
	return out, nil
}

// startSources starts every named source into the streams on g: the demo market
// (with its own settings) and the live ones, each with its own producer and ingress.
// A live source resumes from the checkpoint its last run saved in Postgres
// (source_checkpoints) and saves its own as it goes, each only once the events it
// covers are in the streams (pipeline.RunSourceWith). The Ethereum source's transfers
// and swaps are valued in USD from the latest prices in Postgres (pipeline.USDPricer,
// refreshed on g).
func startSources(ctx context.Context, g *errgroup.Group, names []string, d *deps, m *pipeline.Metrics,
	getenv func(string) string, dm func(*pipeline.Ingress) *pipeline.Demo) error {
	live := map[string]ingest.Source{}
	for _, n := range names { // build every source first: bad settings fail before anything runs
		if n == "demo" {
			continue
		}
		pos, ok, err := d.st.LoadSourceCheckpoint(ctx, n)
		if err != nil {
			return err
		}
		if ok {
			d.log.Info("source resumes from its checkpoint", "source", n, "checkpoint", string(pos))
		}
		src, err := liveSource(n, getenv, d.log, pos)
		if err != nil {
			return err
		}
		live[n] = src
	}
	var pricer *pipeline.USDPricer
	if _, ok := live["ethereum"]; ok {
		p, err := pipeline.NewUSDPricer(d.st, pipeline.USDPricerConfig{Logger: d.log.With("component", "usd-pricer")})
		if err != nil {
			return err
		}
		// A first read before the source starts, so its first events are valued too;
		// Run keeps retrying a failed one.
		if err := p.Refresh(ctx); err != nil {
			d.log.Warn("no USD prices yet: ethereum events go unvalued until a refresh succeeds", "err", err)
		}
		pricer = p
		g.Go(func() error { return p.Run(ctx) })
	}
	var refs []store.RefPrice
	if len(live) > 0 {
		refs = startReferences(ctx, d.st, d.log)
	}
	for _, n := range names {
		prod, err := stream.NewProducer(d.rdb, d.scf)
		if err != nil {
			return err
		}
		in := pipeline.NewIngress(prod, d.rdb, d.st, m, n)
		if n == "demo" {
			demo := dm(in)
			g.Go(func() error { return demo.Run(ctx) })
			continue
		}
		src := live[n]
		cfg := pipeline.SourceConfig{
			// Saved under the name it is loaded by above, whatever src.Name() says.
			Save: func(ctx context.Context, _ string, pos []byte) error {
				return d.st.SaveSourceCheckpoint(ctx, n, pos)
			},
			Logger: d.log,
		}
		if n == "ethereum" {
			cfg.Enrich = pricer.Enrich
		}
		if err := seedGate(in, cfg.Quality, refs); err != nil {
			return err
		}
		g.Go(func() error { return pipeline.RunSourceWith(ctx, src, in, cfg) })
		if t, ok := src.(pipeline.Tracker); ok {
			top := 20
			if v := getenv("COATTAIL_HYPERLIQUID_TRACK_TOP"); v != "" {
				if _, err := fmt.Sscanf(v, "%d", &top); err != nil || top < 0 {
					return fmt.Errorf("%w: COATTAIL_HYPERLIQUID_TRACK_TOP %q: want a non-negative integer", errUsage, v)
				}
			}
			list := func(ctx context.Context) ([]string, error) { return walletsToTrack(ctx, d.st, top) }
			g.Go(func() error { return pipeline.TrackWallets(ctx, t, list, 30*time.Second, d.log) })
		}
	}
	return nil
}

// walletsToTrack is what a wallet-level source watches: every followed wallet and the
// leaderboard's top.
func walletsToTrack(ctx context.Context, st *store.Store, top int) ([]string, error) {
	ws, err := st.FollowedWallets(ctx)
	if err != nil {
		return nil, err
	}
	if top > 0 {
		rows, err := st.Leaderboard(ctx, store.LeaderboardQuery{Limit: top})
		if err != nil {
			return ws, err
		}
		for _, r := range rows {
			ws = append(ws, r.Wallet)
		}
	}
	return ws, nil
}
