// Package sql holds the project's SQL: goose migrations (embedded here for
// the binary) and the sqlc queries.
package sql

import "embed"

// Migrations holds the goose migrations, under "migrations/".
//
//go:embed migrations/*.sql
var Migrations embed.FS
