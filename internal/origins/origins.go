// Package origins decides which browser origins may use the gateway
// (contract §3): those listed in CORS_ORIGINS ("*" for any), and always the
// gateway's own origin, whether that is PUBLIC_URL's or the request's host.
package origins

import (
	"net/url"
	"slices"
	"strings"
)

// Policy is CORS_ORIGINS with PUBLIC_URL's origin. The zero Policy allows
// the request's own host only.
type Policy struct {
	any    bool
	listed []string
	public string // PUBLIC_URL's origin, "" when unknown
}

// New returns the policy of the listed origins ("*" allows any) and the
// gateway's public URL.
func New(listed []string, publicURL string) Policy {
	p := Policy{any: slices.Contains(listed, "*")}
	for _, o := range listed {
		if o != "*" {
			p.listed = append(p.listed, strings.TrimRight(o, "/"))
		}
	}
	if u, err := url.Parse(publicURL); err == nil && u.Scheme != "" && u.Host != "" {
		p.public = u.Scheme + "://" + u.Host
	}
	return p
}

// CrossOrigin says whether a browser page of origin may call the gateway
// from another origin: it is listed, or any is allowed.
func (p Policy) CrossOrigin(origin string) bool {
	if p.any {
		return true
	}
	for _, o := range p.listed {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// SameOrigin says whether origin is the gateway's own: PUBLIC_URL's
// origin, or the origin naming the host the request was sent to.
func (p Policy) SameOrigin(origin, host string) bool {
	if p.public != "" && strings.EqualFold(origin, p.public) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

// Allowed says whether a request from origin to host may be served: no
// Origin (not a browser), the same origin, or an allowed cross origin.
func (p Policy) Allowed(origin, host string) bool {
	return origin == "" || p.SameOrigin(origin, host) || p.CrossOrigin(origin)
}
