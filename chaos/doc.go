// Package chaos holds the chaos suite: the whole binary run against real Postgres and
// Redis while workers are SIGKILLed, Redis and Postgres restart, feeds drop, the
// dead-letter stream floods and one chat user floods the bot. After each, the result
// tables must equal an uninterrupted run's (checksums) and the processes must have
// recovered by themselves. A short run is part of `make test`; `make chaos` runs the
// long one (COATTAIL_CHAOS_LONG=1: a 1,000,000-event replay).
package chaos
