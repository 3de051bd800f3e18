// Package evm is the live source of an EVM chain (ingest.Source), Ethereum by
// default: ERC-20 transfers, Uniswap V2 and V3 swaps and large native-coin transfers,
// read from a node's JSON-RPC API and normalised into interchange events
// (docs/EVENTS.md) with src "ethereum" (Config.Chain).
//
// # Following the chain
//
// Over a websocket (Config.RPCURL ws:// or wss://, or a Config.Client that
// implements HeadSubscriber) the source subscribes to new heads; over HTTP it polls
// the head every Config.PollInterval. Either way a head is only a trigger: the source
// emits every block from the last one emitted up to the head minus
// Config.Confirmations, in order, reading the logs with eth_getLogs over ranges of at
// most Config.MaxRange blocks (topic 0 one of Transfer, V2 Swap, V3 Swap). So a
// backfill from Config.FromBlock, a restart, a dropped subscription (sub.Err(): the
// source resubscribes at once, and with growing backoff while resubscribing keeps
// failing) and a poll that missed blocks are all caught up
// the same way, by block range, with no gap and no duplicate.
//
// Blocks within Config.ReorgDepth of the head are read with their headers: each
// block's parent hash must be the previous block's hash, and the logs of a range must
// carry the hashes of the headers read (else the range is read again). Deeper blocks
// are taken as final and read through their logs only (unless native transfers need
// the whole block).
//
// # Events
//
// ERC-20 Transfer(address indexed from, address indexed to, uint256 value): topic 0
// keccak("Transfer(address,address,uint256)"), 3 topics, 32 bytes of data. It becomes
// a transfer: block, block_hash, tx, log_index, token (the log's address), from, to,
// raw_amount (the value) and decimals, symbol. ERC-721 Transfers (the same signature
// with 4 topics) are not token transfers and are skipped.
//
// Token metadata comes from eth_call decimals() and symbol() at the latest block,
// cached (Config.MetadataCacheSize, roughly least recently used). A contract that
// does not answer (a revert, no code, an answer that is not a uint8 up to 77, or a
// symbol that is not 1..64 bytes of printable UTF-8 as an ABI string or bytes32)
// gets decimals 0 (raw_amount is then also the amount) and no symbol, each field on
// its own. Transport errors and rate limits are not such answers: the block is
// retried, up to 3 times in a row for one contract, after which the fallback is
// used and a warning logged, so one contract cannot stall the chain.
//
// Uniswap V2 Swap(address indexed sender, uint amount0In, uint amount1In, uint
// amount0Out, uint amount1Out, address indexed to) and V3 Swap(address indexed
// sender, address indexed recipient, int256 amount0, int256 amount1, uint160, uint128,
// int24) become swaps: venue "uniswap-v2" or "uniswap-v3" (by the log's shape, so
// forks emitting the same log are included), pool = the log's address, token_in and
// token_out from the pool's token0() and token1() (cached), amount_in and amount_out
// from the pool's net change in each token (V2: in minus out; V3: the signed amounts,
// positive into the pool) in token units with each token's decimals, symbol_in and
// symbol_out. The swap is attributed to the wallet that receives its output: V2's
// `to`, V3's `recipient`. That is the trader for a direct swap and for the last hop
// of a router's swap, but a router or the next pool for intermediate hops and for
// swaps whose output the router unwraps or forwards (Universal Router), so such
// swaps land on the router's address. A pool that does not answer token0() and
// token1() gets its swaps rejected.
//
// Native transfers: with Config.NativeMinWei > 0 (10 ETH by default) every block is
// read whole; a transaction sending at least that much to an account (not a contract
// creation) whose receipt says it succeeded becomes a transfer with no token,
// log_index -1, symbol Config.NativeSymbol, decimals 18, from = the sender (as the
// node reports it, else recovered from the signature). Value moved by internal calls
// is not seen. Receipts from before Byzantium have no status; those transactions
// are taken as successful.
//
// ts is the block's timestamp (from the header, or from the logs' blockTimestamp for
// deep blocks). The events of a block are emitted in chain order (a transaction's
// native transfer before its logs). Every event is checked with Event.Validate
// (Config.Now is its clock) before it is emitted.
//
// Config.Tokens, when set, restricts transfers to those contracts (eth_getLogs
// filters them) and swaps to pools trading one of them.
//
// A log with a Transfer or Swap signature but the wrong shape (topic count, data
// length, an address topic with bits above 160 set, a swap without one token in and
// the other out) is handed to reject with its reason code, its position in the
// detail and the log's JSON as the raw bytes, and the source goes on.
//
// # Reorgs
//
// The hashes and events of the last Config.ReorgDepth emitted blocks are kept. Before
// each range the source checks that the last emitted block is still canonical; when
// it is not, it walks the new chain back by parent hash to the common ancestor, then,
// for every orphaned block, newest first, emits a copy of each event emitted from it
// with removed: true (same chain position and block_hash, so same key plus
// "removed"), in reverse order, before the new branch's events are emitted. A reorg
// no deeper than Config.Confirmations never reaches the output. One deeper than
// ReorgDepth retracts only the kept blocks and is logged as an error.
//
// # Checkpoint
//
// LastBlock is the last block whose events were all emitted; persist it and pass
// LastBlock()+1 as Config.FromBlock to resume. Emission stops in the middle of a
// block only when the pipeline fails, and then resuming emits part of that block
// again, which the events' keys make harmless.
package evm
