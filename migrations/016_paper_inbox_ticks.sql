-- The signal stage wrote one paper_inbox row per price tick: most of the inbox's rows,
-- each inserted, then deleted by the runner, with its index entries and WAL both
-- times. A run of ticks between two signals of a batch is now one row holding them
-- in stream order in three arrays (coin, price, time); such a row has no signal_id,
-- coin '' and ts its first tick's time. Rows of one tick each (written before this
-- migration) are still read as they were.
ALTER TABLE paper_inbox
    ADD COLUMN ticks_coin text[],
    ADD COLUMN ticks_px   double precision[],
    ADD COLUMN ticks_ts   timestamptz[];
