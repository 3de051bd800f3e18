package hyperliquid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/coattailcapital/coattail/ingest/backoff"
)

// Request weights of the info endpoint (Hyperliquid docs, "Rate limits and user
// limits"): clearinghouseState and allMids weigh 2; userFills and userFillsByTime
// weigh 20 plus 1 per 20 fills returned. The docs do not say whether a partial 20
// counts; this package rounds down.
const (
	weightClearinghouseState = 2
	weightAllMids            = 2
	weightUserFills          = 20
	fillsPerWeight           = 20
)

// maxRetryAfter caps how long a Retry-After header can make a request wait.
const maxRetryAfter = 5 * time.Minute

// StatusError is an info API answer that retrying will not change: a status other
// than 200, 429 and 5xx, or a body over Config.MaxBodyBytes. Read it with errors.As.
type StatusError struct {
	Type   string // the request type (clearinghouseState, userFills, ...)
	Status int    // the HTTP status; 200 for an oversized body
	Body   string // the start of the response body
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("hyperliquid info %s: HTTP %d: %s", e.Type, e.Status, e.Body)
}

// infoRequest is the body of an info request.
type infoRequest struct {
	Type      string `json:"type"`
	User      string `json:"user,omitempty"`
	StartTime *int64 `json:"startTime,omitempty"`
	EndTime   *int64 `json:"endTime,omitempty"`
}

// infoClient posts info requests through the shared limiter and retries what can
// be retried: 429 (after emptying the limiter), 5xx and transport errors, with
// jittered exponential backoff, until the request succeeds, fails for good or ctx
// ends. Nothing asked for is given up on a transient failure.
type infoClient struct {
	url     string
	hc      *http.Client
	lim     *limiter
	maxBody int64
	minB    time.Duration
	maxB    time.Duration
	log     *slog.Logger
}

func newInfoClient(cfg Config) *infoClient {
	return &infoClient{
		url:     cfg.InfoURL,
		hc:      cfg.HTTPClient,
		lim:     newLimiter(cfg.WeightPerMinute, time.Now),
		maxBody: cfg.MaxBodyBytes,
		minB:    cfg.MinBackoff,
		maxB:    cfg.MaxBackoff,
		log:     cfg.Logger,
	}
}

func (c *infoClient) clearinghouseState(ctx context.Context, wallet string) ([]byte, error) {
	return c.post(ctx, infoRequest{Type: "clearinghouseState", User: wallet}, weightClearinghouseState)
}

func (c *infoClient) allMids(ctx context.Context) ([]byte, error) {
	return c.post(ctx, infoRequest{Type: "allMids"}, weightAllMids)
}

func (c *infoClient) userFills(ctx context.Context, wallet string) ([]byte, error) {
	return c.post(ctx, infoRequest{Type: "userFills", User: wallet}, weightUserFills)
}

// userFillsByTime asks for wallet's fills from start to end, both inclusive, in ms.
func (c *infoClient) userFillsByTime(ctx context.Context, wallet string, start, end int64) ([]byte, error) {
	return c.post(ctx, infoRequest{Type: "userFillsByTime", User: wallet, StartTime: &start, EndTime: &end}, weightUserFills)
}

// chargeFills charges the weight a fills response costs beyond its base weight.
func (c *infoClient) chargeFills(n int) { c.lim.charge(n / fillsPerWeight) }

func (c *infoClient) post(ctx context.Context, req infoRequest, weight int) ([]byte, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("hyperliquid info %s: encode request: %w", req.Type, err)
	}
	bo := backoff.Backoff{Min: c.minB, Max: c.maxB, Jitter: backoff.Equal}
	for attempt := 0; ; attempt++ {
		if err := c.lim.wait(ctx, weight); err != nil {
			return nil, err
		}
		out, wait, err := c.once(ctx, req.Type, body)
		if err == nil {
			return out, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var se *StatusError
		if errors.As(err, &se) {
			return nil, err
		}
		d := max(wait, bo.Next())
		c.log.Warn("hyperliquid info request failed; retrying", "type", req.Type, "attempt", attempt+1, "in", d, "err", err)
		if err := backoff.Sleep(ctx, d); err != nil {
			return nil, err
		}
	}
}

// once sends one request. A retryable failure comes back as a plain error, with the
// wait the server asked for (Retry-After) if any; a final one as a *StatusError.
func (c *infoClient) once(ctx context.Context, typ string, body []byte) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, &StatusError{Type: typ, Body: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("hyperliquid info %s: %w", typ, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		c.lim.drain()
		return nil, retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("hyperliquid info %s: HTTP 429 (rate limited)", typ)
	case resp.StatusCode >= 500:
		return nil, 0, fmt.Errorf("hyperliquid info %s: HTTP %d: %s", typ, resp.StatusCode, clipBody(out))
	case resp.StatusCode != http.StatusOK:
		return nil, 0, &StatusError{Type: typ, Status: resp.StatusCode, Body: clipBody(out)}
	case err != nil:
		return nil, 0, fmt.Errorf("hyperliquid info %s: read response: %w", typ, err)
	case int64(len(out)) > c.maxBody:
		return nil, 0, &StatusError{Type: typ, Status: resp.StatusCode, Body: fmt.Sprintf("response over %d bytes", c.maxBody)}
	}
	return out, 0, nil
}

// retryAfter reads a Retry-After header in seconds; 0 when absent or unreadable.
func retryAfter(h string) time.Duration {
	s, err := strconv.Atoi(h)
	if err != nil || s <= 0 {
		return 0
	}
	return min(time.Duration(s)*time.Second, maxRetryAfter)
}

func clipBody(b []byte) string {
	const max = 256
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
