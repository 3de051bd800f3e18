// Package store is the Postgres side of the pipeline: migrations, raw events, the wallet
// book, prices, stream checkpoints, dead letters and the read models the bots and the
// API query. Queries are hand-written, one file per table group.
package store

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Config configures Open.
type Config struct {
	// URL is a Postgres connection URL. Defaults to postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
	URL string
	// MaxConns bounds the pool. Defaults to 16.
	MaxConns int32
	// Logger receives operational messages. Defaults to slog.Default().
	Logger *slog.Logger
}

// DefaultURL is the database used when none is configured.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Store is a handle on the database.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

// Open connects to Postgres and checks the connection.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 16
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	pc.MaxConns = cfg.MaxConns
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres at %s: %w", redactURL(cfg.URL), err)
	}
	return &Store{pool: pool, log: cfg.Logger}, nil
}

// Close releases the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Pool exposes the pool to tests and to other stores built on this one.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// redactURL drops a password from a URL for messages.
func redactURL(u string) string {
	pc, err := pgxpool.ParseConfig(u)
	if err != nil {
		return "(unparseable url)"
	}
	c := pc.ConnConfig
	return fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// InstanceID is the database's identity (see migrations/003_instance.sql): a short
// random hex string fixed when the schema was created.
func (s *Store) InstanceID(ctx context.Context) (string, error) {
	var id string
	if err := s.pool.QueryRow(ctx, `SELECT id FROM instance`).Scan(&id); err != nil {
		return "", fmt.Errorf("read instance id: %w", err)
	}
	return id, nil
}
