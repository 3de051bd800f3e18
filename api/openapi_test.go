package api_test

// docs/openapi.json against the server: the document is OpenAPI 3.x with every $ref
// resolving; its operations are exactly the routes api.New registers (read from
// server.go's source and confirmed against the ServeMux); and real responses, on the
// real Postgres and Redis, validate against the schemas it declares for their status,
// with every declared status produced at least once.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/api"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"
)

const specPath = "../docs/openapi.json"

// spec is the decoded document; numbers stay json.Number.
type spec map[string]any

func loadSpec(t *testing.T) spec {
	t.Helper()
	b, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatalf("read the OpenAPI document: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var s spec
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("%s is not valid JSON: %v", specPath, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("%s: trailing data after the document", specPath)
	}
	return s
}

// resolve follows a local reference such as "#/components/schemas/LeaderRow".
func (s spec) resolve(ref string) (map[string]any, error) {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q: only local references are used here", ref)
	}
	var cur any = map[string]any(s)
	for _, part := range strings.Split(p, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not inside an object", ref, part)
		}
		if cur, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %q: no %q", ref, part)
		}
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("$ref %q does not name an object", ref)
	}
	return m, nil
}

// deref returns m, or what it refers to when it is a reference.
func (s spec) deref(m map[string]any) (map[string]any, error) {
	for range 16 {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		var err error
		if m, err = s.resolve(ref); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("reference chain too long")
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operations lists the document's operations as "METHOD /path".
func (s spec) operations(t *testing.T) map[string]map[string]any {
	t.Helper()
	paths, ok := s["paths"].(map[string]any)
	if !ok {
		t.Fatal("the document has no paths object")
	}
	out := map[string]map[string]any{}
	for p, item := range paths {
		im, ok := item.(map[string]any)
		if !ok {
			t.Fatalf("paths[%q] is not an object", p)
		}
		for _, m := range httpMethods {
			if op, ok := im[m].(map[string]any); ok {
				out[strings.ToUpper(m)+" "+p] = op
			}
		}
	}
	return out
}

func TestOpenAPIDocument(t *testing.T) {
	s := loadSpec(t)
	v, _ := s["openapi"].(string)
	if !regexp.MustCompile(`^3\.\d+\.\d+$`).MatchString(v) {
		t.Errorf("openapi = %q, want a 3.x.y version", v)
	}
	info, _ := s["info"].(map[string]any)
	if info["title"] == nil || info["version"] == nil {
		t.Errorf("info needs a title and a version: %v", info)
	}
	ops := s.operations(t)
	if len(ops) == 0 {
		t.Fatal("no operations")
	}
	ids := map[string]string{}
	for name, op := range ops {
		id, _ := op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", name)
		} else if prev, dup := ids[id]; dup {
			t.Errorf("operationId %q used by %s and %s", id, prev, name)
		}
		ids[id] = name
		rs, _ := op["responses"].(map[string]any)
		if len(rs) == 0 {
			t.Errorf("%s: no responses", name)
		}
		// Every {param} of the path is declared, and nothing else is in: path.
		path := strings.SplitN(name, " ", 2)[1]
		want := map[string]bool{}
		for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
			want[m[1]] = true
		}
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			pm, err := s.deref(p.(map[string]any))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if pm["in"] == "path" {
				n, _ := pm["name"].(string)
				if !want[n] || pm["required"] != true {
					t.Errorf("%s: path parameter %q is not a required {%s} of the path", name, n, n)
				}
				delete(want, n)
			}
		}
		for n := range want {
			t.Errorf("%s: {%s} is not declared as a path parameter", name, n)
		}
	}
	// Every reference anywhere in the document resolves.
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				if _, err := s.resolve(ref); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			for k, c := range x {
				walk(c, at+"/"+k)
			}
		case []any:
			for i, c := range x {
				walk(c, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(map[string]any(s), "#")
}

// registeredRoutes reads the patterns server.go passes to HandleFunc and Handle, so a
// route added there without documenting it fails TestOpenAPICoversEveryRoute.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "server.go", nil, 0)
	if err != nil {
		t.Fatalf("parse server.go: %v", err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) != 2 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") {
			return true
		}
		lit, ok := call.Args[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			t.Errorf("server.go: a route pattern that is not a string literal (%T): the test cannot read it", call.Args[0])
			return true
		}
		p, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatalf("server.go: pattern %s: %v", lit.Value, err)
		}
		out = append(out, p)
		return true
	})
	if len(out) == 0 {
		t.Fatal("found no routes in server.go")
	}
	return out
}

// specName turns a ServeMux pattern ("GET /{$}") into the document's "GET /".
func specName(pattern string) (string, error) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || method == "" || !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("pattern %q: want METHOD /path (every route names its method)", pattern)
	}
	if strings.Contains(path, "...}") {
		return "", fmt.Errorf("pattern %q: {name...} wildcards have no OpenAPI form", pattern)
	}
	return method + " " + strings.TrimSuffix(path, "{$}"), nil
}

// examplePath fills a documented path's parameters with their examples.
func examplePath(t *testing.T, s spec, name string, op map[string]any) string {
	t.Helper()
	path := strings.SplitN(name, " ", 2)[1]
	params, _ := op["parameters"].([]any)
	for _, p := range params {
		pm, err := s.deref(p.(map[string]any))
		if err != nil {
			t.Fatal(err)
		}
		if pm["in"] != "path" {
			continue
		}
		ex, ok := pm["example"].(string)
		if !ok {
			t.Fatalf("%s: path parameter %v needs an example to be checked against the server", name, pm["name"])
		}
		path = strings.ReplaceAll(path, "{"+pm["name"].(string)+"}", ex)
	}
	return path
}

func TestOpenAPICoversEveryRoute(t *testing.T) {
	s := loadSpec(t)
	ops := s.operations(t)
	routes := registeredRoutes(t)
	mux, ok := api.New(api.Config{}).Handler().(*http.ServeMux)
	if !ok {
		t.Fatalf("api.Server.Handler() is %T, not a *http.ServeMux: update this test", api.New(api.Config{}).Handler())
	}
	byName := map[string]string{}
	for _, r := range routes {
		name, err := specName(r)
		if err != nil {
			t.Error(err)
			continue
		}
		byName[name] = r
		if _, ok := ops[name]; !ok {
			t.Errorf("route %q (server.go) is not in %s as %q", r, specPath, name)
		}
	}
	for name, op := range ops {
		pattern, ok := byName[name]
		if !ok {
			t.Errorf("%s documents %q, which server.go does not register", specPath, name)
			continue
		}
		// The documented path, filled in, reaches the route it documents.
		method := strings.SplitN(name, " ", 2)[0]
		req := httptest.NewRequest(method, examplePath(t, s, name, op), nil)
		if _, got := mux.Handler(req); got != pattern {
			t.Errorf("%s %s is routed to %q, want %q", method, req.URL.Path, got, pattern)
		}
	}
}

// validate checks v (decoded with UseNumber) against schema, returning every mismatch.
// It covers what the document uses: $ref, allOf, type, nullable, required, properties,
// additionalProperties false, items, enum, pattern, minimum, maximum, format date-time.
func (s spec) validate(schema map[string]any, v any, at string) []string {
	schema, err := s.deref(schema)
	if err != nil {
		return []string{at + ": " + err.Error()}
	}
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, a...)) }
	if all, ok := schema["allOf"].([]any); ok {
		for _, sub := range all {
			errs = append(errs, s.validate(sub.(map[string]any), v, at)...)
		}
	}
	if v == nil {
		if schema["nullable"] != true {
			bad("null, but the schema is not nullable")
		}
		return errs
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		bad("%v is not one of %v", v, enum)
	}
	switch typ, _ := schema["type"].(string); typ {
	case "":
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			bad("%T, want an object", v)
			break
		}
		props, _ := schema["properties"].(map[string]any)
		req, _ := schema["required"].([]any)
		for _, r := range req {
			if _, ok := m[r.(string)]; !ok {
				bad("required property %q is missing", r)
			}
		}
		for k, x := range m {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if schema["additionalProperties"] == false {
					bad("property %q is not in the schema", k)
				}
				continue
			}
			errs = append(errs, s.validate(ps, x, at+"."+k)...)
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			bad("%T, want an array", v)
			break
		}
		items, _ := schema["items"].(map[string]any)
		for i, x := range a {
			errs = append(errs, s.validate(items, x, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("%T %v, want a string", v, v)
			break
		}
		if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			bad("%q does not match %s", str, p)
		}
		if schema["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				bad("%q is not an RFC 3339 date-time", str)
			}
		}
	case "integer", "number":
		n, ok := v.(json.Number)
		if !ok {
			bad("%T %v, want a %s", v, v, typ)
			break
		}
		f, err := n.Float64()
		if err != nil {
			bad("%v: %v", n, err)
			break
		}
		if _, err := n.Int64(); typ == "integer" && err != nil {
			bad("%v is not an integer", n)
		}
		if lim, ok := schema["minimum"].(json.Number); ok {
			if l, _ := lim.Float64(); f < l {
				bad("%v is below the minimum %v", n, lim)
			}
		}
		if lim, ok := schema["maximum"].(json.Number); ok {
			if l, _ := lim.Float64(); f > l {
				bad("%v is above the maximum %v", n, lim)
			}
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("%T %v, want a boolean", v, v)
		}
	default:
		bad("schema type %q is not handled by this test", typ)
	}
	return errs
}

const (
	oaRanked   = "0x51f63885534cb494f4592a0311551f369bff2b39" // ETH with a mark, BTC without
	oaSecond   = "0xebf1cc891400938e7b881a3b55f3324923a3d8f6"
	oaUnseen   = "0x00000000000000000000000000000000000000dd"
	oaNotAWord = "0x51f63885534cb494f4592a0311551f369bff2bzz"
)

// oaServers returns a server on a seeded store and healthy Redis, and one whose store
// is closed and whose Redis does not answer (for the 500 and 503 answers), and an API
// token of the good server's store (its user may follow one wallet).
func oaServers(t *testing.T) (good, broken *httptest.Server, token string) {
	t.Helper()
	ctx := context.Background()
	st := testenv.Store(t)
	rdb, _ := testenv.Redis(t)
	d := decimal.RequireFromString
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rows := []store.PositionRow{
		{PositionKey: store.PositionKey{Wallet: oaRanked, Coin: "ETH"}, Size: d("2"), EntryPx: d("100"),
			RealizedPnl: d("42"), Fees: d("2.5"), N: 4, MarkPx: decimal.NewNullDecimal(d("110.25")), UpdatedAt: at},
		{PositionKey: store.PositionKey{Wallet: oaRanked, Coin: "BTC"}, Size: d("-0.1"), EntryPx: d("50000"),
			RealizedPnl: d("0"), Fees: d("1"), N: 1, UpdatedAt: at.Add(time.Minute)},
		{PositionKey: store.PositionKey{Wallet: oaSecond, Coin: "SOL"}, Size: d("0"), EntryPx: d("0"),
			RealizedPnl: d("-7.125"), Fees: d("0.5"), N: 3, UnknownBasis: true, UpdatedAt: at},
	}
	if err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error { return store.UpsertPositions(ctx, tx, rows) }); err != nil {
		t.Fatalf("seed positions: %v", err)
	}
	// The leaderboard is the alpha board: a scoring run ranks both wallets, one with an
	// infinite profit factor (null).
	pf := 1.5
	if _, err := st.SaveScoreRun(ctx, store.ScoreRun{Window: store.WindowAll, AsOf: at}, []store.WalletScore{
		{Wallet: oaRanked, Rank: 1, Score: 0.2, LCB: 0.1, N: 30, Eligible: true,
			Stats: store.ScoreStats{RealizedPnl: 42, Fees: 3.5, Trades: 5, ProfitFactor: &pf}},
		{Wallet: oaSecond, Rank: 2, Score: 0.1, LCB: -0.05, N: 21, Eligible: true, Stats: store.ScoreStats{RealizedPnl: -7.125}},
	}); err != nil {
		t.Fatalf("seed scores: %v", err)
	}
	insertSignal(t, st, "followed_move", oaRanked, "ETH", 1000)
	seedWindows(t, st)
	seedTrading(t, st, oaRanked)
	token, _, err := st.CreateToken(ctx, "telegram", "111", "openapi test")
	if err != nil {
		t.Fatal(err)
	}
	_, prefix := testenv.Redis(t)
	good = httptest.NewServer(api.New(api.Config{Store: st, Redis: rdb, Gatherer: prometheus.NewRegistry(),
		Streams: stream.Config{Prefix: prefix, Shards: 2}, FollowLimit: 1}).Handler())
	t.Cleanup(good.Close)

	closed := testenv.Store(t)
	closed.Close()
	// Nothing listens on port 1 of the loopback: the ping fails at once.
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = dead.Close() })
	broken = httptest.NewServer(api.New(api.Config{Store: closed, Redis: dead, Gatherer: prometheus.NewRegistry(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler())
	t.Cleanup(broken.Close)
	return good, broken, token
}

func TestOpenAPIResponsesMatchTheServer(t *testing.T) {
	s := loadSpec(t)
	ops := s.operations(t)
	good, broken, token := oaServers(t)
	const fake = "ctc_well-formed-but-the-store-is-closed"
	tests := []struct {
		name string
		srv  *httptest.Server
		op   string // the documented operation
		url  string
		code int
		// method defaults to GET; token is sent as Authorization: Bearer; body as JSON.
		method, token, body string
	}{
		{"healthz", good, "GET /healthz", "/healthz", 200, "", "", ""},
		{"ready", good, "GET /readyz", "/readyz", 200, "", "", ""},
		{"not ready", broken, "GET /readyz", "/readyz", 503, "", "", ""},
		{"metrics", good, "GET /metrics", "/metrics", 200, "", "", ""},
		{"leaderboard", good, "GET /api/leaderboard", "/api/leaderboard", 200, "", "", ""},
		{"leaderboard page 2", good, "GET /api/leaderboard", "/api/leaderboard?limit=1&offset=1&window=all", 200, "", "", ""},
		{"leaderboard past the end", good, "GET /api/leaderboard", "/api/leaderboard?offset=50", 200, "", "", ""},
		{"leaderboard limit 0", good, "GET /api/leaderboard", "/api/leaderboard?limit=0", 400, "", "", ""},
		{"leaderboard limit 1001", good, "GET /api/leaderboard", "/api/leaderboard?limit=1001", 400, "", "", ""},
		{"leaderboard offset -1", good, "GET /api/leaderboard", "/api/leaderboard?offset=-1", 400, "", "", ""},
		{"leaderboard window 24h", good, "GET /api/leaderboard", "/api/leaderboard?window=24h", 400, "", "", ""},
		{"leaderboard window 7d as of then", good, "GET /api/leaderboard", "/api/leaderboard?window=7d&as_of=2026-01-02T03:04:05Z&page=2", 200, "", "", ""},
		{"leaderboard bad as_of", good, "GET /api/leaderboard", "/api/leaderboard?as_of=now", 400, "", "", ""},
		{"leaderboard store down", broken, "GET /api/leaderboard", "/api/leaderboard", 500, "", "", ""},
		{"wallet", good, "GET /api/wallets/{address}", "/api/wallets/" + oaRanked, 200, "", "", ""},
		{"wallet upper case", good, "GET /api/wallets/{address}", "/api/wallets/0x" + strings.ToUpper(oaSecond[2:]), 200, "", "", ""},
		{"wallet not hex", good, "GET /api/wallets/{address}", "/api/wallets/" + oaNotAWord, 400, "", "", ""},
		{"wallet too short", good, "GET /api/wallets/{address}", "/api/wallets/0x1234", 400, "", "", ""},
		{"wallet unseen", good, "GET /api/wallets/{address}", "/api/wallets/" + oaUnseen, 404, "", "", ""},
		{"wallet store down", broken, "GET /api/wallets/{address}", "/api/wallets/" + oaRanked, 500, "", "", ""},
		{"dashboard", good, "GET /", "/", 200, "", "", ""},
		{"wallet page", good, "GET /wallet/{address}", "/wallet/" + oaRanked, 200, "", "", ""},
		{"script", good, "GET /app.js", "/app.js", 200, "", "", ""},
		{"style", good, "GET /style.css", "/style.css", 200, "", "", ""},
		{"signals", good, "GET /api/signals", "/api/signals", 200, "", "", ""},
		{"signals filtered", good, "GET /api/signals", "/api/signals?wallet=" + oaRanked + "&coin=ETH&rule=followed_move&since=0&limit=5", 200, "", "", ""},
		{"signals bad limit", good, "GET /api/signals", "/api/signals?limit=0", 400, "", "", ""},
		{"signals store down", broken, "GET /api/signals", "/api/signals", 500, "", "", ""},
		{"signal stream", good, "GET /api/signals/stream", "/api/signals/stream?since=0", 200, "", "", ""},
		{"signal stream bad wallet", good, "GET /api/signals/stream", "/api/signals/stream?wallet=0x12", 400, "", "", ""},
		{"signal stream store down", broken, "GET /api/signals/stream", "/api/signals/stream", 500, "", "", ""},
		{"pipeline", good, "GET /api/pipeline", "/api/pipeline", 200, "", "", ""},
		{"pipeline store down", broken, "GET /api/pipeline", "/api/pipeline", 500, "", "", ""},
		{"follows without token", good, "GET /api/follows", "/api/follows", 401, "", "", ""},
		{"follows", good, "GET /api/follows", "/api/follows", 200, "", token, ""},
		{"follows store down", broken, "GET /api/follows", "/api/follows", 500, "", fake, ""},
		{"follow", good, "POST /api/follows", "/api/follows", 201, "POST", token, `{"wallet":"` + oaRanked + `","label":"top"}`},
		{"follow again", good, "POST /api/follows", "/api/follows", 200, "POST", token, `{"wallet":"` + oaRanked + `"}`},
		{"follow over the limit", good, "POST /api/follows", "/api/follows", 409, "POST", token, `{"wallet":"` + oaSecond + `"}`},
		{"follow bad body", good, "POST /api/follows", "/api/follows", 400, "POST", token, `{"wallet":1}`},
		{"follow bad token", good, "POST /api/follows", "/api/follows", 401, "POST", "ctc_nope", `{"wallet":"` + oaRanked + `"}`},
		{"follow store down", broken, "POST /api/follows", "/api/follows", 500, "POST", fake, `{"wallet":"` + oaRanked + `"}`},
		{"followed after", good, "GET /api/follows", "/api/follows", 200, "", token, ""},
		{"unfollow not followed", good, "DELETE /api/follows/{address}", "/api/follows/" + oaSecond, 404, "DELETE", token, ""},
		{"unfollow bad address", good, "DELETE /api/follows/{address}", "/api/follows/" + oaNotAWord, 400, "DELETE", token, ""},
		{"unfollow without token", good, "DELETE /api/follows/{address}", "/api/follows/" + oaRanked, 401, "DELETE", "", ""},
		{"unfollow store down", broken, "DELETE /api/follows/{address}", "/api/follows/" + oaRanked, 500, "DELETE", fake, ""},
		{"unfollow", good, "DELETE /api/follows/{address}", "/api/follows/" + oaRanked, 204, "DELETE", token, ""},
		{"anomalies", good, "GET /api/anomalies", "/api/anomalies", 200, "", "", ""},
		{"anomalies filtered", good, "GET /api/anomalies", "/api/anomalies?symbol=ETH-USDT&kind=large_trade&since=2026-01-01T00:00:00Z&limit=5", 200, "", "", ""},
		{"anomalies bad kind", good, "GET /api/anomalies", "/api/anomalies?kind=whale", 400, "", "", ""},
		{"anomalies store down", broken, "GET /api/anomalies", "/api/anomalies", 500, "", "", ""},
		{"flows", good, "GET /api/flows", "/api/flows", 200, "", "", ""},
		{"flows filtered", good, "GET /api/flows", "/api/flows?token=USDT&exchange=binance&window=1h&since=24h&limit=10", 200, "", "", ""},
		{"flows bad window", good, "GET /api/flows", "/api/flows?window=1w", 400, "", "", ""},
		{"flows store down", broken, "GET /api/flows", "/api/flows", 500, "", "", ""},
		{"bars", good, "GET /api/bars", "/api/bars?symbol=ETH-USDT", 200, "", "", ""},
		{"bars of a venue", good, "GET /api/bars", "/api/bars?symbol=ETH-USDT&venue=binance&interval=1m&limit=2", 200, "", "", ""},
		{"bars without symbol", good, "GET /api/bars", "/api/bars?interval=5m", 400, "", "", ""},
		{"bars store down", broken, "GET /api/bars", "/api/bars?symbol=ETH-USDT", 500, "", "", ""},
		{"reference prices", good, "GET /api/prices/reference", "/api/prices/reference?at=2026-03-04T10:03:00Z", 200, "", "", ""},
		{"reference price of a coin", good, "GET /api/prices/reference", "/api/prices/reference?coin=eth&at=2026-03-04T10:03:00Z", 200, "", "", ""},
		{"reference prices now", good, "GET /api/prices/reference", "/api/prices/reference", 200, "", "", ""},
		{"reference price unknown coin", good, "GET /api/prices/reference", "/api/prices/reference?coin=DOGE&at=2026-03-04T10:03:00Z", 404, "", "", ""},
		{"reference prices bad at", good, "GET /api/prices/reference", "/api/prices/reference?at=yesterday", 400, "", "", ""},
		{"reference prices store down", broken, "GET /api/prices/reference", "/api/prices/reference", 500, "", "", ""},
		{"paper", good, "GET /api/paper", "/api/paper", 200, "", "", ""},
		{"paper scope", good, "GET /api/paper", "/api/paper?scope=telegram:7&limit=1", 200, "", "", ""},
		{"paper unknown scope", good, "GET /api/paper", "/api/paper?scope=global", 404, "", "", ""},
		{"paper bad scope", good, "GET /api/paper", "/api/paper?scope=irc:1", 400, "", "", ""},
		{"paper store down", broken, "GET /api/paper", "/api/paper", 500, "", "", ""},
		{"risk", good, "GET /api/risk", "/api/risk", 200, "", "", ""},
		{"risk store down", broken, "GET /api/risk", "/api/risk", 500, "", "", ""},
		{"risk decisions", good, "GET /api/risk/decisions", "/api/risk/decisions", 200, "", "", ""},
		{"risk rejections", good, "GET /api/risk/decisions", "/api/risk/decisions?rejected=true&check=coin_cooldown&scope=global&limit=3", 200, "", "", ""},
		{"risk decisions bad check", good, "GET /api/risk/decisions", "/api/risk/decisions?check=vibes", 400, "", "", ""},
		{"risk decisions store down", broken, "GET /api/risk/decisions", "/api/risk/decisions", 500, "", "", ""},
	}
	produced := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, ok := ops[tt.op]
			if !ok {
				t.Fatalf("%s is not documented", tt.op)
			}
			method := tt.method
			if method == "" {
				method = "GET"
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var rd io.Reader
			if tt.body != "" {
				rd = strings.NewReader(tt.body)
			}
			req, err := http.NewRequestWithContext(ctx, method, tt.srv.URL+tt.url, rd)
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body []byte
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				// An event stream never ends: check its first event, then hang up.
				body = readEvents(t, resp.Body)
				cancel()
			} else if body, err = io.ReadAll(resp.Body); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Fatalf("GET %s = %d %s, want %d", tt.url, resp.StatusCode, body, tt.code)
			}
			rs, _ := op["responses"].(map[string]any)
			rm, ok := rs[strconv.Itoa(tt.code)].(map[string]any)
			if !ok {
				t.Fatalf("%s does not document status %d", tt.op, tt.code)
			}
			if rm, err = s.deref(rm); err != nil {
				t.Fatal(err)
			}
			produced[tt.op+" "+strconv.Itoa(tt.code)] = true
			content, _ := rm["content"].(map[string]any)
			if content == nil {
				if len(body) > 0 {
					t.Fatalf("%s %d documents no content, but the body is %q", tt.op, tt.code, body)
				}
				return
			}
			ctype, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
			media, ok := content[ctype].(map[string]any)
			if !ok {
				t.Fatalf("%s %d: Content-Type %q is not documented (documented: %v)", tt.op, tt.code, ctype, keys(content))
			}
			schema, _ := media["schema"].(map[string]any)
			var v any = string(body)
			if ctype == "application/json" {
				dec := json.NewDecoder(strings.NewReader(string(body)))
				dec.UseNumber()
				if err := dec.Decode(&v); err != nil {
					t.Fatalf("%s: the body is not JSON: %v\n%s", tt.url, err, body)
				}
			}
			if errs := s.validate(schema, v, "body"); len(errs) > 0 {
				t.Errorf("GET %s (%d) does not match the schema:\n  %s\nbody: %s", tt.url, tt.code, strings.Join(errs, "\n  "), body)
			}
		})
	}
	// Every documented status is produced by some case above.
	for name, op := range ops {
		rs, _ := op["responses"].(map[string]any)
		for code := range rs {
			if !produced[name+" "+code] {
				t.Errorf("%s %s is documented but no case produces it", name, code)
			}
		}
	}
}

// TestLeaderboardRowsHaveExactlyTheRequiredProperties pins the LeaderRow schema to
// store.LeaderRow's JSON: every property is required, and a real row has exactly them.
func TestLeaderboardRowsHaveExactlyTheRequiredProperties(t *testing.T) {
	s := loadSpec(t)
	schema, err := s.resolve("#/components/schemas/LeaderRow")
	if err != nil {
		t.Fatal(err)
	}
	var required []string
	for _, r := range schema["required"].([]any) {
		required = append(required, r.(string))
	}
	sort.Strings(required)
	if props := keys(schema["properties"].(map[string]any)); !slices.Equal(props, required) {
		t.Errorf("LeaderRow properties %v, required %v: every property of a row is always present", props, required)
	}
	good, _, _ := oaServers(t)
	resp, err := http.Get(good.URL + "/api/leaderboard?limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rows []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
		t.Fatalf("decode the leaderboard: %v", err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want the 2 seeded wallets", len(rows))
	}
	for i, row := range rows {
		if got := keys(row); !slices.Equal(got, required) {
			t.Errorf("row %d has properties %v, the schema requires exactly %v", i, got, required)
		}
	}
	if rows[0]["wallet"] != oaRanked || rows[1]["wallet"] != oaSecond {
		t.Errorf("ranking %v, %v; want %s then %s", rows[0]["wallet"], rows[1]["wallet"], oaRanked, oaSecond)
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// readEvents reads an event stream up to and including its first event that carries
// data (the first signal), so the case checks a real event, not only the preamble.
func readEvents(t *testing.T, r io.Reader) []byte {
	t.Helper()
	br := bufio.NewReader(r)
	var out []byte
	for {
		line, err := br.ReadBytes('\n')
		out = append(out, line...)
		if err != nil {
			t.Fatalf("event stream ended before its first event: %v\n%s", err, out)
		}
		if strings.HasPrefix(string(line), "data: ") {
			return out
		}
	}
}
