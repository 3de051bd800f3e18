// Package migrations holds the schema as numbered SQL files, embedded into the binary
// and applied in order by store.Migrate, each in its own transaction.
package migrations

import "embed"

// FS holds the NNN_name.sql files.
//
//go:embed *.sql
var FS embed.FS
