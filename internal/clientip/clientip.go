// Package clientip finds the address of the client behind a request, for
// rate limiting. X-Forwarded-For is believed only as far as it was written
// by trusted proxies (TRUSTED_PROXIES): anyone can send the header, so
// believing it from an untrusted peer would let a client choose its own
// rate-limit key.
package clientip

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver resolves client IPs. The zero value trusts no proxy.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver that believes X-Forwarded-For from peers in trusted.
func New(trusted []netip.Prefix) *Resolver {
	return &Resolver{trusted: trusted}
}

// FromRequest is the client IP of r.
func (res *Resolver) FromRequest(r *http.Request) string {
	return res.Resolve(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
}

// Resolve returns the client IP given the TCP peer (host:port or a bare
// IP) and the X-Forwarded-For header lines. Starting from the peer, it
// walks the forwarded chain from the right (the entries appended by the
// nearest proxies) while the hop is trusted; the first untrusted hop is the
// client. A malformed entry stops the walk at the last hop known good.
func (res *Resolver) Resolve(remoteAddr string, forwardedFor []string) string {
	peer, ok := parseAddr(remoteAddr)
	if !ok {
		// Not an IP (a unix socket, a test's fake address): use it as is.
		return remoteAddr
	}
	if len(res.trusted) == 0 || !res.isTrusted(peer) {
		return peer.String()
	}
	hops := splitHops(forwardedFor)
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseAddr(hops[i])
		if !ok {
			break
		}
		client = hop
		if !res.isTrusted(hop) {
			break
		}
	}
	return client.String()
}

func (res *Resolver) isTrusted(ip netip.Addr) bool {
	for _, p := range res.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func splitHops(lines []string) []string {
	var hops []string
	for _, line := range lines {
		for _, h := range strings.Split(line, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hops = append(hops, h)
			}
		}
	}
	return hops
}

// parseAddr accepts an IP, an IP:port, or a bracketed IPv6 with or without
// a port; IPv4-mapped IPv6 addresses are unmapped so both forms of one
// client share a key.
func parseAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip.Unmap().WithZone(""), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if ip, err := netip.ParseAddr(host); err == nil {
			return ip.Unmap().WithZone(""), true
		}
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if ip, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return ip.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}
