package paper_test

import "github.com/coattailcapital/coattail/internal/sigtest"

// The scenario helpers shared with the signal tests (internal/sigtest).
var (
	writeFile = sigtest.WriteFile
	produce   = sigtest.Produce
	runStage  = sigtest.RunStage
	scoreRun  = sigtest.ScoreRun
	follow    = sigtest.Follow
	fill      = sigtest.Fill
	price     = sigtest.Price
	wallet    = sigtest.Wallet
)
