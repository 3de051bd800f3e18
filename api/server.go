// Package api serves HTTP: health and readiness, Prometheus metrics, a JSON API over the
// book and a small dashboard.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/coattailcapital/coattail/eip55"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
)

// Config configures the server.
type Config struct {
	// Addr to listen on. Defaults to 127.0.0.1:8080.
	Addr     string
	Store    *store.Store
	Redis    redis.UniversalClient
	Gatherer prometheus.Gatherer // Defaults to prometheus.DefaultGatherer.
	Logger   *slog.Logger
	// Streams is the stream layout (prefix and shard count) GET /api/pipeline reports
	// on. When Shards is set, /metrics also exports the consumer lag, pending entries and
	// stored dead letters (read at scrape time); leave it zero in processes whose
	// metrics another one already serves (workers, ingest).
	Streams stream.Config
	// FollowLimit bounds the follows of one user through the API, as in chat.
	// Defaults to bot.DefaultFollowLimit.
	FollowLimit int
	// SignalPoll is how often the signal stream looks for new signals. Defaults to 1s.
	SignalPoll time.Duration
	// Heartbeat is how often an idle signal stream sends a comment. Defaults to 15s.
	Heartbeat time.Duration
}

// Server is the HTTP server.
type Server struct {
	cfg Config
	mux *http.ServeMux
	// streamsDone ends the open event streams when the server shuts down, which would
	// otherwise wait for them until its timeout.
	streamsDone context.Context
	stopStreams context.CancelFunc
}

// New builds the server's routes.
func New(cfg Config) *Server {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if cfg.Gatherer == nil {
		cfg.Gatherer = prometheus.DefaultGatherer
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SignalPoll <= 0 {
		cfg.SignalPoll = time.Second
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.streamsDone, s.stopStreams = context.WithCancel(context.Background())
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer(), promhttp.HandlerOpts{}))
	s.mux.HandleFunc("GET /api/leaderboard", s.leaderboard)
	s.mux.HandleFunc("GET /api/wallets/{address}", s.wallet)
	s.mux.HandleFunc("GET /api/signals", s.signals)
	s.mux.HandleFunc("GET /api/signals/stream", s.signalStream)
	s.mux.HandleFunc("GET /api/pipeline", s.pipeline)
	s.mux.HandleFunc("GET /api/anomalies", s.anomalies)
	s.mux.HandleFunc("GET /api/flows", s.flows)
	s.mux.HandleFunc("GET /api/bars", s.bars)
	s.mux.HandleFunc("GET /api/prices/reference", s.referencePrices)
	s.mux.HandleFunc("GET /api/paper", s.paperState)
	s.mux.HandleFunc("GET /api/risk", s.riskState)
	s.mux.HandleFunc("GET /api/risk/decisions", s.riskDecisions)
	s.mux.HandleFunc("GET /api/follows", s.listFollows)
	s.mux.HandleFunc("POST /api/follows", s.addFollow)
	s.mux.HandleFunc("DELETE /api/follows/{address}", s.removeFollow)
	s.mux.HandleFunc("GET /{$}", staticFile("index.html", "text/html; charset=utf-8"))
	s.mux.HandleFunc("GET /wallet/{address}", staticFile("index.html", "text/html; charset=utf-8"))
	s.mux.HandleFunc("GET /app.js", staticFile("app.js", "text/javascript; charset=utf-8"))
	s.mux.HandleFunc("GET /style.css", staticFile("style.css", "text/css; charset=utf-8"))
	return s
}

// Handler exposes the routes (for tests).
func (s *Server) Handler() http.Handler { return s.mux }

// Run listens until ctx is done, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 5 * time.Second}
	srv.RegisterOnShutdown(s.stopStreams)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status := map[string]string{"postgres": "ok", "redis": "ok"}
	code := http.StatusOK
	if err := s.cfg.Store.Ping(ctx); err != nil {
		status["postgres"] = err.Error()
		code = http.StatusServiceUnavailable
	}
	if err := s.cfg.Redis.Ping(ctx).Err(); err != nil {
		status["redis"] = err.Error()
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, status)
}

// leaderboard serves the alpha board: the ranked wallets of the latest scoring run of
// the window at or before as_of (store.Board), a page at a time. With no run yet it
// answers an empty array; `coattail run` rescores every minute, `coattail rescore`
// on demand.
func (s *Server) leaderboard(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	q := store.BoardQuery{Window: qs.Get("window"), Limit: 10}
	if q.Window == "" {
		q.Window = store.WindowAll
	}
	if !store.ValidScoreWindow(q.Window) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "window must be 7d, 30d or all"})
		return
	}
	var err error
	if v := qs.Get("as_of"); v != "" {
		if q.AsOf, err = time.Parse(time.RFC3339Nano, v); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "as_of must be an RFC 3339 time, e.g. 2026-02-04T10:00:00Z"})
			return
		}
	}
	if v := qs.Get("limit"); v != "" {
		if q.Limit, err = strconv.Atoi(v); err != nil || q.Limit < 1 || q.Limit > 1000 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit must be an integer 1..1000"})
			return
		}
	}
	if v := qs.Get("offset"); v != "" {
		if q.Offset, err = strconv.Atoi(v); err != nil || q.Offset < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "offset must be a non-negative integer"})
			return
		}
	}
	if v := qs.Get("page"); v != "" {
		page, err := strconv.Atoi(v)
		if err != nil || page < 1 || page > 1000000 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "page must be an integer from 1"})
			return
		}
		q.Offset += (page - 1) * q.Limit
	}
	_, rows, err := s.cfg.Store.Board(r.Context(), q)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.fail(w, "leaderboard", err)
		return
	}
	if rows == nil {
		rows = []store.BoardRow{}
	}
	writeJSON(w, http.StatusOK, rows)
}

func (s *Server) wallet(w http.ResponseWriter, r *http.Request) {
	addr, err := eip55.Parse(r.PathValue("address"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	v, err := s.cfg.Store.Wallet(r.Context(), addr)
	if errors.Is(err, store.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "wallet not seen"})
		return
	}
	if err != nil {
		s.fail(w, "wallet", err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) fail(w http.ResponseWriter, op string, err error) {
	s.cfg.Logger.Error("api request failed", "op", op, "err", err)
	writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// gatherer is the configured gatherer, plus the scrape-time pipeline series when the
// stream layout is known.
func (s *Server) gatherer() prometheus.Gatherer {
	if s.cfg.Streams.Shards == 0 || s.cfg.Store == nil || s.cfg.Redis == nil {
		return s.cfg.Gatherer
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newLagCollector(s))
	return prometheus.Gatherers{s.cfg.Gatherer, reg}
}
