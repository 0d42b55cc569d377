package app

import (
	"context"
	"errors"
	"time"

	"github.com/chatgw/chatgw/internal/cluster"
	"github.com/chatgw/chatgw/internal/gateway"
)

// clusterLink adapts the cluster bus and membership to what the gateway
// needs of the other nodes (gateway.Cluster).
type clusterLink struct {
	*cluster.Bus
	members *cluster.Membership
}

var _ gateway.Cluster = clusterLink{}

func (c clusterLink) Register(ctx context.Context, socketID, identity string, max int) (time.Time, []gateway.ClusterSocket, error) {
	at, evicted, err := c.members.Register(ctx, socketID, identity, max)
	out := make([]gateway.ClusterSocket, len(evicted))
	for i, r := range evicted {
		out[i] = gateway.ClusterSocket{ID: r.SocketID, Node: r.Node, Identity: r.Identity, ConnectedAt: r.ConnectedAt}
	}
	return at, out, err
}

func (c clusterLink) Unregister(ctx context.Context, socketID string) error {
	return c.members.Unregister(ctx, socketID)
}

func (c clusterLink) RegisterAll(ctx context.Context, socks []gateway.ClusterSocket) error {
	regs := make([]cluster.Registration, len(socks))
	for i, s := range socks {
		regs[i] = cluster.Registration{SocketID: s.ID, Identity: s.Identity, ConnectedAt: s.ConnectedAt}
	}
	return c.members.RegisterAll(ctx, regs)
}

// clusterParts starts the node's membership (its row first: the sockets
// registered later refer to it), then the bus; it stops them in reverse:
// what the last sends published goes out, then the node leaves (its
// sockets' registrations with it).
type clusterParts struct {
	members *cluster.Membership
	bus     *cluster.Bus
}

func (c clusterParts) Start(ctx context.Context) error {
	if err := c.members.Start(ctx); err != nil {
		return err
	}
	if err := c.bus.Start(ctx); err != nil {
		_ = c.members.Stop(ctx)
		return err
	}
	return nil
}

func (c clusterParts) Stop(ctx context.Context) error {
	return errors.Join(c.bus.Stop(ctx), c.members.Stop(ctx))
}
