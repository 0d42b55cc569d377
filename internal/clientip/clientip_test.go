package clientip

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	trusted := New([]netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("::1/128"),
	})
	none := New(nil)

	cases := []struct {
		name string
		res  *Resolver
		peer string
		xff  []string
		want string
	}{
		{"no proxies configured ignores the header", none, "10.1.2.3:5000", []string{"1.2.3.4"}, "10.1.2.3"},
		{"untrusted peer ignores the header", trusted, "203.0.113.9:5000", []string{"1.2.3.4"}, "203.0.113.9"},
		{"trusted peer, one hop", trusted, "10.1.2.3:5000", []string{"1.2.3.4"}, "1.2.3.4"},
		{"spoofed left entries are skipped", trusted, "10.1.2.3:5000", []string{"6.6.6.6, 1.2.3.4"}, "1.2.3.4"},
		{"chain of trusted proxies", trusted, "10.1.2.3:5000", []string{"1.2.3.4, 10.9.9.9"}, "1.2.3.4"},
		{"several header lines", trusted, "10.1.2.3:5000", []string{"6.6.6.6", "1.2.3.4, 10.9.9.9"}, "1.2.3.4"},
		{"all trusted gives the leftmost", trusted, "10.1.2.3:5000", []string{"10.7.7.7, 10.9.9.9"}, "10.7.7.7"},
		{"malformed hop stops the walk", trusted, "10.1.2.3:5000", []string{"1.2.3.4, garbage, 10.9.9.9"}, "10.9.9.9"},
		{"no header from a trusted peer", trusted, "10.1.2.3:5000", nil, "10.1.2.3"},
		{"ipv6 peer", trusted, "[::1]:443", []string{"2001:db8::1"}, "2001:db8::1"},
		{"hop with a port", trusted, "10.1.2.3:1", []string{"1.2.3.4:9999"}, "1.2.3.4"},
		{"bracketed ipv6 hop", trusted, "10.1.2.3:1", []string{"[2001:db8::2]"}, "2001:db8::2"},
		{"ipv4-mapped peer is unmapped", none, "[::ffff:192.0.2.1]:80", nil, "192.0.2.1"},
		{"bare ip peer", none, "192.0.2.7", nil, "192.0.2.7"},
		{"non-ip peer passes through", none, "@", nil, "@"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.res.Resolve(tc.peer, tc.xff))
		})
	}
}

func TestFromRequest(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:4000"
	r.Header.Add("X-Forwarded-For", "198.51.100.4")
	require.Equal(t, "127.0.0.1", New(nil).FromRequest(r))
	require.Equal(t, "198.51.100.4", New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}).FromRequest(r))
}

func FuzzResolve(f *testing.F) {
	f.Add("10.0.0.1:80", "1.2.3.4, 10.0.0.2")
	f.Add("[::1]:1", "[::1], x")
	f.Add("", ",,,")
	res := New([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")})
	f.Fuzz(func(t *testing.T, peer, xff string) {
		got := res.Resolve(peer, []string{xff})
		if _, ok := parseAddr(peer); !ok {
			if got != peer {
				t.Fatalf("non-IP peer %q became %q", peer, got)
			}
			return
		}
		if _, err := netip.ParseAddr(got); err != nil {
			t.Fatalf("resolved %q, not an IP", got)
		}
	})
}
