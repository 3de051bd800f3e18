package market

import (
	"cmp"
	"time"

	"github.com/coattailcapital/coattail/analytics/window"
)

// FlowSpecs are the exchange-flow windows: 1h and 1d tumbling.
func FlowSpecs() []window.Spec {
	return []window.Spec{window.Tumbling("1h", time.Hour), window.Tumbling("1d", 24*time.Hour)}
}

// FlowTick is one transfer to (Deposit) or from an exchange. A reorg retraction is
// folded as Retract: it takes the transfer back out.
type FlowTick struct {
	Deposit bool
	Amount  float64
	USD     float64 // 0 when unknown
	Large   bool
	Retract bool
	Symbol  string // the token's symbol when the transfer names it
}

// Flow is a window's inflow (deposits into the exchange) and outflow (withdrawals).
type Flow struct {
	In       float64 `json:"in"`
	Out      float64 `json:"out"`
	InUSD    float64 `json:"iu"`
	OutUSD   float64 `json:"ou"`
	Deposits int64   `json:"d"`
	Withdraw int64   `json:"w"`
	LargeIn  int64   `json:"li"`
	LargeOut int64   `json:"lo"`
	Late     int64   `json:"lt"`
	Symbol   string  `json:"s,omitempty"` // the first symbol the token was named by
}

// FoldFlow adds a transfer to a flow window.
func FoldFlow(f *Flow, t FlowTick) {
	if f.Symbol == "" {
		f.Symbol = t.Symbol
	}
	sign, n := 1.0, int64(1)
	if t.Retract {
		sign, n = -1, -1
	}
	large := int64(0)
	if t.Large {
		large = n
	}
	if t.Deposit {
		f.In += sign * t.Amount
		f.InUSD += sign * t.USD
		f.Deposits += n
		f.LargeIn += large
	} else {
		f.Out += sign * t.Amount
		f.OutUSD += sign * t.USD
		f.Withdraw += n
		f.LargeOut += large
	}
}

// Net is inflow minus outflow: positive means coins moved onto the exchange.
func (f Flow) Net() float64 { return f.In - f.Out }

// Merge combines two flows of the same window.
func (f Flow) Merge(o Flow) Flow {
	return Flow{In: f.In + o.In, Out: f.Out + o.Out, InUSD: f.InUSD + o.InUSD, OutUSD: f.OutUSD + o.OutUSD,
		Deposits: f.Deposits + o.Deposits, Withdraw: f.Withdraw + o.Withdraw,
		LargeIn: f.LargeIn + o.LargeIn, LargeOut: f.LargeOut + o.LargeOut, Late: f.Late + o.Late,
		Symbol: cmp.Or(f.Symbol, o.Symbol)}
}
