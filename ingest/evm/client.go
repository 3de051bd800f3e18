package evm

import (
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Client is what the source needs of an Ethereum JSON-RPC client. go-ethereum's
// *ethclient.Client implements it, and so does the client of its simulated backend.
type Client interface {
	// HeaderByNumber reads the canonical header at a number (nil: the head).
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	// HeaderByHash reads a header of any branch the node knows: reorgs are walked
	// back by parent hash.
	HeaderByHash(ctx context.Context, hash common.Hash) (*types.Header, error)
	// BlockByNumber reads a block with its transactions, for native transfers.
	BlockByNumber(ctx context.Context, number *big.Int) (*types.Block, error)
	// TransactionReceipt tells whether a native transfer's transaction succeeded.
	TransactionReceipt(ctx context.Context, txHash common.Hash) (*types.Receipt, error)
	// FilterLogs reads the Transfer and Swap logs of a range of blocks.
	FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error)
	// CallContract reads token metadata (decimals, symbol) and pool tokens.
	CallContract(ctx context.Context, msg ethereum.CallMsg, blockNumber *big.Int) ([]byte, error)
}

// HeadSubscriber is the optional part of a Client: a client that has it (over a
// websocket) is followed by subscription instead of polling.
type HeadSubscriber interface {
	SubscribeNewHead(ctx context.Context, ch chan<- *types.Header) (ethereum.Subscription, error)
}

// senderReader is implemented by *ethclient.Client: it returns the sender of a
// transaction of a block it returned, as the node reported it, without recovering
// the signature.
type senderReader interface {
	TransactionSender(ctx context.Context, tx *types.Transaction, block common.Hash, index uint) (common.Address, error)
}
