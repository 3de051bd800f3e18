-- The board of a scoring run is read by rank, a page at a time (`coattail leaderboard
-- --page`, /api/leaderboard): index (run_id, rank) so a page is an index range, not a
-- sort of every wallet scored in the run. Unranked wallets (rank NULL) sort last and
-- are never read by the board.
CREATE INDEX wallet_scores_rank ON wallet_scores (run_id, rank);
