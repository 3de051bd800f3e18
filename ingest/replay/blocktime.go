package replay

import "time"

// blockAnchor is a mainnet block with its known timestamp.
type blockAnchor struct {
	block uint64
	unix  int64
}

// mainnetAnchors are mainnet blocks with their timestamps, ascending: block 1, the
// hard forks and the merge. Between two anchors a block time is interpolated linearly.
func mainnetAnchors() [14]blockAnchor {
	return [...]blockAnchor{
		{1, 1438269988},        // 2015-07-30T15:26:28Z, first block after genesis
		{1150000, 1457981393},  // Homestead, 2016-03-14T18:49:53Z
		{1920000, 1469020840},  // DAO fork, 2016-07-20T13:20:40Z
		{2675000, 1479831344},  // Spurious Dragon, 2016-11-22T16:15:44Z
		{4370000, 1508131331},  // Byzantium, 2017-10-16T05:22:11Z
		{7280000, 1551383524},  // Constantinople, 2019-02-28T19:52:04Z
		{9069000, 1575764709},  // Istanbul, 2019-12-08T00:25:09Z
		{12244000, 1618481223}, // Berlin, 2021-04-15T10:07:03Z
		{12965000, 1628166822}, // London, 2021-08-05T12:33:42Z
		{15050000, 1656586444}, // Gray Glacier, 2022-06-30T10:54:04Z
		{15537394, 1663224179}, // the merge, 2022-09-15T06:42:59Z
		{17034870, 1681338455}, // Shanghai, 2023-04-12T22:27:35Z
		{19426587, 1710338135}, // Cancun, 2024-03-13T13:55:35Z
		{22431084, 1746612311}, // Prague, 2025-05-07T10:05:11Z
	}
}

// postMergeBlockMillis is the average mainnet block interval after the last anchor:
// 12 s slots, of which about 1% are missed.
const postMergeBlockMillis = 12_120

// approxBlockTime estimates the timestamp of an Ethereum mainnet block from its
// number, for inputs that carry no timestamps. Between anchors (see mainnetAnchors)
// it interpolates linearly; within the ranges seen in practice the error is hours at
// most before the merge (block times drifted with the difficulty bomb) and minutes
// after it. Block order is preserved: a higher block never gets an earlier time.
func approxBlockTime(block uint64) time.Time {
	anchors := mainnetAnchors()
	if block <= anchors[0].block {
		return time.Unix(anchors[0].unix, 0).UTC()
	}
	for i := 1; i < len(anchors); i++ {
		a, b := anchors[i-1], anchors[i]
		if block <= b.block {
			// Milliseconds keep the interpolation monotonic and exact enough.
			span := (b.unix - a.unix) * 1000
			ms := a.unix*1000 + span*int64(block-a.block)/int64(b.block-a.block)
			return time.UnixMilli(ms).UTC()
		}
	}
	last := anchors[len(anchors)-1]
	return time.UnixMilli(last.unix*1000 + int64(block-last.block)*postMergeBlockMillis).UTC()
}
