package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/coattailcapital/coattail/store"
	"golang.org/x/term"
)

// config is what every subcommand shares: flags, defaulted from COATTAIL_* variables.
type config struct {
	DatabaseURL string
	RedisURL    string
	HTTPAddr    string
	Shards      int
	// StreamPrefix prefixes every Redis key of the streams. Empty (the default) means
	// "coattail:<database instance id>", so deployments on different databases never
	// share streams even on one Redis, and processes on one database always do.
	StreamPrefix string
	LogLevel     string
	LogFormat    string
}

// env reads COATTAIL_<name> with a default.
func env(getenv func(string) string, name, def string) string {
	if v := getenv("COATTAIL_" + name); v != "" {
		return v
	}
	return def
}

// register adds the shared flags to fs, defaulted from the environment.
func (c *config) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.DatabaseURL, "database-url", env(getenv, "DATABASE_URL", store.DefaultURL), "Postgres URL (env COATTAIL_DATABASE_URL)")
	fs.StringVar(&c.RedisURL, "redis-url", env(getenv, "REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis URL (env COATTAIL_REDIS_URL)")
	fs.StringVar(&c.HTTPAddr, "http-addr", env(getenv, "HTTP_ADDR", "127.0.0.1:8080"), "HTTP listen address for /healthz, /metrics, the API and dashboard (env COATTAIL_HTTP_ADDR)")
	shards := env(getenv, "SHARDS", "8")
	n, err := strconv.Atoi(shards)
	if err != nil {
		n = -1 // reported by validate
	}
	fs.IntVar(&c.Shards, "shards", n, "number of event stream shards; every process must agree (env COATTAIL_SHARDS)")
	fs.StringVar(&c.StreamPrefix, "stream-prefix", env(getenv, "STREAM_PREFIX", ""), "prefix of the Redis stream keys; empty: coattail:<database instance id>, shared by every process on the same database (env COATTAIL_STREAM_PREFIX)")
	fs.StringVar(&c.LogLevel, "log-level", env(getenv, "LOG_LEVEL", "info"), "debug, info, warn or error (env COATTAIL_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", env(getenv, "LOG_FORMAT", "text"), "text or json (env COATTAIL_LOG_FORMAT)")
}

// validate checks everything that can be checked without connecting.
func (c *config) validate() error {
	var errs []error
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		errs = append(errs, fmt.Errorf("database url %q: want postgres://user@host:port/db", redact(c.DatabaseURL)))
	}
	if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
		errs = append(errs, fmt.Errorf("redis url %q: want redis://host:port/db", redact(c.RedisURL)))
	}
	if _, port, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("http addr %q: want host:port, e.g. 127.0.0.1:8080", c.HTTPAddr))
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		errs = append(errs, fmt.Errorf("http addr %q: port must be 0..65535", c.HTTPAddr))
	}
	if c.Shards < 1 || c.Shards > 1024 {
		errs = append(errs, fmt.Errorf("shards: must be an integer 1..1024 (COATTAIL_SHARDS)"))
	}
	if strings.ContainsAny(c.StreamPrefix, " \t\r\n{}") {
		errs = append(errs, fmt.Errorf("stream prefix %q: want a key prefix without spaces or braces, or empty for the default (COATTAIL_STREAM_PREFIX)", c.StreamPrefix))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log format %q: want text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// logger builds the process logger writing to w.
func (c *config) logger(w io.Writer) *slog.Logger {
	l, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: l}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// redact hides a password in a URL for messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// stdinIsTerminal reports whether standard input is an interactive terminal.
func stdinIsTerminal() bool {
	return term.IsTerminal(int(os.Stdin.Fd()))
}

// splitCSV splits a comma-separated list, dropping empties.
func splitCSV(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
