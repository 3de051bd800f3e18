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
	"strings"
	"time"

	"github.com/coattailcapital/coattail/store"
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
}

// Server is the HTTP server.
type Server struct {
	cfg Config
	mux *http.ServeMux
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
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("GET /api/leaderboard", s.leaderboard)
	s.mux.HandleFunc("GET /api/wallets/{address}", s.wallet)
	s.mux.HandleFunc("GET /{$}", s.dashboard)
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

func (s *Server) leaderboard(w http.ResponseWriter, r *http.Request) {
	q := store.LeaderboardQuery{Window: r.URL.Query().Get("window")}
	if q.Window != "" && q.Window != "all" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "window must be \"all\" (time windows come with alpha scoring)"})
		return
	}
	var err error
	if v := r.URL.Query().Get("limit"); v != "" {
		if q.Limit, err = strconv.Atoi(v); err != nil || q.Limit < 1 || q.Limit > 1000 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit must be an integer 1..1000"})
			return
		}
	}
	if v := r.URL.Query().Get("offset"); v != "" {
		if q.Offset, err = strconv.Atoi(v); err != nil || q.Offset < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "offset must be a non-negative integer"})
			return
		}
	}
	rows, err := s.cfg.Store.Leaderboard(r.Context(), q)
	if err != nil {
		s.fail(w, "leaderboard", err)
		return
	}
	if rows == nil {
		rows = []store.LeaderRow{}
	}
	writeJSON(w, http.StatusOK, rows)
}

func (s *Server) wallet(w http.ResponseWriter, r *http.Request) {
	addr := strings.ToLower(r.PathValue("address"))
	if len(addr) != 42 || !strings.HasPrefix(addr, "0x") || strings.Trim(addr[2:], "0123456789abcdef") != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "address must be 0x followed by 40 hex digits"})
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

func (s *Server) dashboard(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(dashboardHTML))
}

const dashboardHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Coat Tail Capital</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;background:#0f1419;color:#e6e6e6}
table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #333;text-align:right}
td:nth-child(2),th:nth-child(2){text-align:left;font-family:monospace}.neg{color:#f66}.pos{color:#6c6}</style></head>
<body><h1>Coat Tail Capital</h1><p>Leaderboard (realized + unrealized PnL net of fees), refreshed every 2 s.
<a href="/metrics" style="color:#8af">metrics</a> · <a href="/readyz" style="color:#8af">readiness</a></p>
<table id="lb"><thead><tr><th>#</th><th>wallet</th><th>score (USD)</th><th>realized</th><th>unrealized</th><th>fees</th><th>n</th></tr></thead><tbody></tbody></table>
<script>
function f(x){const n=Number(x);return '<span class="'+(n<0?'neg':'pos')+'">'+n.toLocaleString(undefined,{maximumFractionDigits:2})+'</span>'}
async function load(){try{const r=await fetch('/api/leaderboard?limit=25');const rows=await r.json();
document.querySelector('#lb tbody').innerHTML=rows.map(x=>'<tr><td>'+x.rank+'</td><td>'+x.wallet+'</td><td>'+f(x.score)+'</td><td>'+f(x.realized_pnl)+'</td><td>'+f(x.unrealized_pnl)+'</td><td>'+f(x.fees)+'</td><td>'+x.n+'</td></tr>').join('')}catch(e){}}
load();setInterval(load,2000);
</script></body></html>`
