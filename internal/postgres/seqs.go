package postgres

import (
	"context"

	"github.com/google/uuid"
)

// LastSeqs returns the last seq committed in each of the conversations
// (those that do not exist are left out). The gateway's order cursors start
// from it and check it for gaps the cluster bus left.
func (s *Store) LastSeqs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]int64, error) {
	rows, err := s.exec.Query(ctx, "SELECT id, last_seq FROM conversations WHERE id = ANY($1)", ids)
	if err != nil {
		return nil, mapErr("last seqs", err)
	}
	defer rows.Close()
	out := make(map[uuid.UUID]int64, len(ids))
	for rows.Next() {
		var id uuid.UUID
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, mapErr("last seqs", err)
		}
		out[id] = seq
	}
	return out, mapErr("last seqs", rows.Err())
}
