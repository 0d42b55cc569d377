-- +goose Up
-- Cluster mode (CLUSTER_BUS=postgres): the nodes that share this database
-- and the sockets they hold. UNLOGGED: this is live state, rebuilt by the
-- nodes themselves (a crash restart of PostgreSQL empties both tables; every
-- node notices its own row is gone at its next heartbeat and registers its
-- sockets again), so it costs no WAL.
CREATE UNLOGGED TABLE cluster_nodes (
    node_id    text        PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Heartbeat; a node silent for 15 s is gone and purged by any other.
    seen_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE UNLOGGED TABLE cluster_sockets (
    socket_id    text        PRIMARY KEY,
    node_id      text        NOT NULL REFERENCES cluster_nodes (node_id) ON DELETE CASCADE,
    -- chat.Identity.RegistryKey(): "user:<sub>" or "anon:<conversation>".
    identity     text        NOT NULL,
    -- The database's clock decides which socket is the oldest.
    connected_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX cluster_sockets_identity_idx ON cluster_sockets (identity, connected_at, socket_id);
CREATE INDEX cluster_sockets_node_idx ON cluster_sockets (node_id);

-- The per-conversation message limit (RATE_LIMIT_MESSAGES_*), exact across
-- nodes: GCRA's theoretical arrival time, advanced by the statement that
-- takes the conversation's row lock and its next seq (NULL: never limited).
ALTER TABLE conversations ADD COLUMN send_tat timestamptz;

-- +goose Down
ALTER TABLE conversations DROP COLUMN send_tat;
DROP TABLE cluster_sockets;
DROP TABLE cluster_nodes;
