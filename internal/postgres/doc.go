// Package postgres is chatgw's PostgreSQL adapter: migrations (goose for the
// project's schema, rivermigrate for River's), the readiness check, and Store,
// which implements chat.Store. The sqlc-generated package dbsqlc stays inside:
// every row is converted to a chat type here, and pgx.ErrNoRows becomes
// chat.ErrNotFound in one place (mapErr).
package postgres
