package evm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rpc"
	"golang.org/x/sync/errgroup"
)

// Function selectors (the first 4 bytes of the Keccak-256 of the signature) of the
// metadata calls; TestSelectors checks them.
const (
	selDecimals = "\x31\x3c\xe5\x67" // decimals()
	selSymbol   = "\x95\xd8\x9b\x41" // symbol()
	selToken0   = "\x0d\xfe\x16\x81" // token0()
	selToken1   = "\xd2\x12\x20\xa7" // token1()
)

// maxDecimals is the most decimals the interchange format accepts (a uint256 has 78
// digits).
const maxDecimals = 77

// maxSymbolBytes is the longest token symbol the interchange format accepts.
const maxSymbolBytes = 64

// maxTransientFailures is how many times in a row a contract's metadata may fail for
// a reason that looks temporary (a transport error, a rate limit) before the source
// stops retrying and takes the metadata as unavailable, so that one odd contract
// cannot stall the chain.
const maxTransientFailures = 3

// tokenMeta is what a token contract says of itself. decimals is 0 and symbol
// empty when the contract does not answer (see the package documentation).
type tokenMeta struct {
	decimals int32
	symbol   string
}

// poolMeta is a pool's pair of tokens; ok is false when the contract did not answer
// token0() and token1().
type poolMeta struct {
	token0, token1 common.Address
	ok             bool
}

// metadata resolves token and pool metadata through eth_call, with bounded caches.
// It is used by the one goroutine of a Run (the calls of one batch run in parallel
// but touch no shared state).
type metadata struct {
	s        *Source
	tokens   *cache[tokenMeta]
	pools    *cache[poolMeta]
	failures *cache[int] // consecutive transient failures by contract
}

func newMetadata(s *Source) *metadata {
	return &metadata{
		s:        s,
		tokens:   newCache[tokenMeta](s.cfg.MetadataCacheSize),
		pools:    newCache[poolMeta](s.cfg.MetadataCacheSize),
		failures: newCache[int](s.cfg.MetadataCacheSize),
	}
}

// resolvePools makes sure every pool of addrs is in the cache.
func (m *metadata) resolvePools(ctx context.Context, addrs []common.Address) error {
	return resolve(ctx, m, m.pools, addrs, m.fetchPool)
}

// resolveTokens makes sure every token of addrs is in the cache.
func (m *metadata) resolveTokens(ctx context.Context, addrs []common.Address) error {
	return resolve(ctx, m, m.tokens, addrs, m.fetchToken)
}

func (m *metadata) token(a common.Address) tokenMeta {
	v, _ := m.tokens.get(a)
	return v
}

func (m *metadata) pool(a common.Address) poolMeta {
	v, _ := m.pools.get(a)
	return v
}

// resolve fetches the addresses missing from c, MetadataConcurrency at a time, and
// caches the answers. A transient failure of any fetch is returned (the block is
// retried later) unless the contract has failed too often, in which case its
// fallback is cached.
func resolve[V any](ctx context.Context, m *metadata, c *cache[V], addrs []common.Address, fetch func(context.Context, common.Address) (V, error)) error {
	var missing []common.Address
	seen := make(map[common.Address]struct{}, len(addrs))
	for _, a := range addrs {
		if _, ok := seen[a]; ok {
			continue
		}
		seen[a] = struct{}{}
		if _, ok := c.get(a); !ok {
			missing = append(missing, a)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	vals := make([]V, len(missing))
	errs := make([]error, len(missing))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.s.cfg.MetadataConcurrency)
	for i, a := range missing {
		g.Go(func() error {
			vals[i], errs[i] = fetch(gctx, a)
			return nil
		})
	}
	_ = g.Wait() // the goroutines report through errs
	if err := ctx.Err(); err != nil {
		return err
	}
	var first error
	for i, a := range missing {
		if errs[i] == nil {
			c.put(a, vals[i])
			m.failures.remove(a)
			continue
		}
		n, _ := m.failures.get(a)
		n++
		if n >= maxTransientFailures {
			m.s.cfg.Logger.Warn("evm: metadata unavailable after repeated failures; using the fallback",
				"contract", hexAddress(a), "failures", n, "err", errs[i])
			var zero V
			c.put(a, zero)
			m.failures.remove(a)
			continue
		}
		m.failures.put(a, n)
		if first == nil {
			first = fmt.Errorf("metadata of %s: %w", hexAddress(a), errs[i])
		}
	}
	return first
}

// fetchToken calls decimals() and symbol(). A contract failure (revert, no code, a
// malformed answer) gives the fallback for that field; only transient errors are
// returned.
func (m *metadata) fetchToken(ctx context.Context, a common.Address) (tokenMeta, error) {
	var t tokenMeta
	ret, err := m.s.call(ctx, a, selDecimals)
	switch {
	case err == nil:
		if d, ok := parseDecimals(ret); ok {
			t.decimals = d
		}
	case !contractFailure(err):
		return tokenMeta{}, err
	}
	ret, err = m.s.call(ctx, a, selSymbol)
	switch {
	case err == nil:
		t.symbol, _ = parseSymbol(ret)
	case !contractFailure(err):
		return tokenMeta{}, err
	}
	m.s.counter.metaCalls.Add(2)
	return t, nil
}

// fetchPool calls token0() and token1().
func (m *metadata) fetchPool(ctx context.Context, a common.Address) (poolMeta, error) {
	var p poolMeta
	ok := true
	for i, sel := range []string{selToken0, selToken1} {
		ret, err := m.s.call(ctx, a, sel)
		if err != nil {
			if !contractFailure(err) {
				return poolMeta{}, err
			}
			ok = false
			continue
		}
		addr, good := parseAddress(ret)
		if !good {
			ok = false
			continue
		}
		if i == 0 {
			p.token0 = addr
		} else {
			p.token1 = addr
		}
	}
	m.s.counter.metaCalls.Add(2)
	p.ok = ok
	return p, nil
}

// call makes one eth_call of a no-argument function at the latest block.
func (s *Source) call(ctx context.Context, to common.Address, selector string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	return s.client.CallContract(ctx, ethereum.CallMsg{To: &to, Data: []byte(selector)}, nil)
}

// transientCode reports JSON-RPC error codes that say nothing about the contract:
// rate limits, unavailable resources, internal errors.
func transientCode(code int) bool {
	switch code {
	case -32005, -32002, -32603, 429:
		return true
	}
	return false
}

// contractFailure reports whether a failed eth_call failed because of the contract —
// the node ran it and reported a revert, running out of gas, an invalid opcode —
// rather than because of the transport or the node, which is worth retrying. The
// node's JSON-RPC errors are taken as the contract's unless their code or message
// says rate limit or missing state.
func contractFailure(err error) bool {
	var re rpc.Error
	if !errors.As(err, &re) {
		return false
	}
	if re.ErrorCode() == 3 { // execution reverted
		return true
	}
	if transientCode(re.ErrorCode()) {
		return false
	}
	msg := strings.ToLower(re.Error())
	for _, s := range []string{"limit", "header not found", "missing trie node", "timeout", "busy", "unavailable"} {
		if strings.Contains(msg, s) {
			return false
		}
	}
	return true
}

// parseDecimals reads decimals(): a uint8 (some tokens: uint256) as a 32-byte word.
// Values above 77 cannot be represented in the interchange format and are refused.
func parseDecimals(ret []byte) (int32, bool) {
	if len(ret) != 32 {
		return 0, false
	}
	for _, b := range ret[:31] {
		if b != 0 {
			return 0, false
		}
	}
	if ret[31] > maxDecimals {
		return 0, false
	}
	return int32(ret[31]), true
}

// parseAddress reads an address returned as a 32-byte word.
func parseAddress(ret []byte) (common.Address, bool) {
	if len(ret) != 32 {
		return common.Address{}, false
	}
	return topicAddress(common.BytesToHash(ret))
}

// parseSymbol reads symbol(): an ABI string (offset, length, bytes), or a bytes32
// padded with zeros as some early tokens (MKR) return. The symbol must be 1 to 64
// bytes of UTF-8 without control characters once trailing NULs and surrounding
// spaces are trimmed; anything else is no symbol.
func parseSymbol(ret []byte) (string, bool) {
	var raw []byte
	switch {
	case len(ret) == 32:
		raw = ret
	case len(ret) >= 64:
		off, ok := word(ret, 0)
		if !ok || off > uint64(len(ret))-32 {
			return "", false
		}
		n, ok := word(ret, int(off))
		if !ok || n > uint64(len(ret))-off-32 {
			return "", false
		}
		raw = ret[off+32 : off+32+n]
	default:
		return "", false
	}
	s := strings.TrimSpace(strings.TrimRight(string(raw), "\x00"))
	if s == "" || len(s) > maxSymbolBytes || !printable(s) {
		return "", false
	}
	return s, true
}

// word reads the 32-byte big-endian word at off as a uint64, when it fits.
func word(b []byte, off int) (uint64, bool) {
	if off < 0 || off+32 > len(b) {
		return 0, false
	}
	for _, c := range b[off : off+24] {
		if c != 0 {
			return 0, false
		}
	}
	var v uint64
	for _, c := range b[off+24 : off+32] {
		v = v<<8 | uint64(c)
	}
	return v, true
}

// printable reports whether s is valid UTF-8 without C0, DEL or C1 control
// characters (the interchange format's rule for text).
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return false
		}
	}
	return true
}
