// Package testenv gives tests their own slice of the real Postgres and Redis: a fresh
// schema per test (migrated) and a unique Redis key prefix, both removed afterwards.
// Tests never mock the database or the broker.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// DatabaseURL is the server tests use: COATTAIL_TEST_DATABASE_URL or the local default.
func DatabaseURL() string {
	if u := os.Getenv("COATTAIL_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return store.DefaultURL
}

// RedisURL is the server tests use: COATTAIL_TEST_REDIS_URL or the local default.
func RedisURL() string {
	if u := os.Getenv("COATTAIL_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Schema creates a fresh schema and returns a database URL whose search_path is it.
// The schema is dropped when the test ends.
func Schema(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, DatabaseURL())
	if err != nil {
		t.Fatalf("postgres is required for this test (run `make services`): %v", err)
	}
	defer conn.Close(context.Background())
	name := randomName("t_")
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, DatabaseURL())
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
	})
	u, err := url.Parse(DatabaseURL())
	if err != nil {
		t.Fatalf("database url: %v", err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// Store opens a migrated store on a fresh schema.
func Store(t testing.TB) *store.Store {
	t.Helper()
	return StoreAt(t, Schema(t))
}

// StoreAt opens and migrates a store on url, closing it when the test ends.
func StoreAt(t testing.TB, url string) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: url})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(st.Close)
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return st
}

// Redis returns a client and a key prefix unique to the test; keys under the prefix
// are deleted when the test ends.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	opt, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("redis url: %v", err)
	}
	opt.MaxRetries = -1 // the stream runtime refuses a client that re-sends commands (see stream.NewGroup)
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis is required for this test (run `make services`): %v", err)
	}
	prefix := randomName("test:")
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			_ = rdb.Del(ctx, keys...).Err()
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}

// SharedData returns the path of ../shared/data relative to the repository root, or
// skips the test with a clear message when it is absent.
func SharedData(t testing.TB, rel string) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Skipf("shared data not found: %v", err)
	}
	p := root + "/../shared/data/" + rel
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data %s absent (../shared/data sits beside the checkout): %v", rel, err)
	}
	return p
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for i := 0; i < 10; i++ {
		if _, err := os.Stat(dir + "/go.mod"); err == nil {
			return dir, nil
		}
		dir = dir + "/.."
	}
	return "", fmt.Errorf("go.mod not found above the test directory")
}
