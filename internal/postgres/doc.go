// Package postgres is chatgw's PostgreSQL adapter: the pool, migrations
// (goose for the project's schema, rivermigrate for River's), the readiness
// check, Store, which implements chat.Store over an Executor (a pool or a
// caller's transaction), and GroupCommitter, which shares one transaction
// among concurrent sends.
//
// The sqlc-generated code lives in internal/dbsqlc, so nothing outside this
// package can reach it: every row becomes a chat type here (rows.go), and
// database errors become the domain's in one place (mapErr, where
// pgx.ErrNoRows turns into chat.ErrNotFound).
package postgres
