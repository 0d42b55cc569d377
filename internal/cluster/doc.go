// Package cluster makes every chatgw process on one database one gateway
// (contract §7). PostgreSQL is the only server: LISTEN/NOTIFY carries what
// other nodes' sockets must see (the bus), and two UNLOGGED tables hold the
// nodes (heartbeats) and the sockets they hold (the cluster-wide
// MAX_SOCKETS_PER_IDENTITY).
//
// The bus only saves time; PostgreSQL stays the truth. A message event
// that is lost, dropped or too large to travel is recovered by the
// receiving gateway from the messages table (its per-conversation cursor
// sees the gap), so a send never waits for the bus.
package cluster
