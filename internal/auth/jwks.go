package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

const (
	// DefaultJWKSRefresh is how often the key set is fetched again.
	DefaultJWKSRefresh = 15 * time.Minute
	// DefaultJWKSUnknownKIDInterval bounds the refreshes a token with an
	// unknown kid may cause: one per interval in all, whatever the kids.
	DefaultJWKSUnknownKIDInterval = 30 * time.Second
	// DefaultJWKSHTTPTimeout bounds one fetch of the key set.
	DefaultJWKSHTTPTimeout = 10 * time.Second
)

// ErrKeysNotLoaded is returned (not as a *chat.Error: the token is not at
// fault, so clients see INTERNAL) while the provider's key set has never
// been fetched.
var ErrKeysNotLoaded = errors.New("auth: identity provider keys not loaded yet")

// JWKSConfig configures a JWKS key source. Zero values mean the defaults.
type JWKSConfig struct {
	// URL of the provider's JWK Set: https://, or http:// on a loopback
	// host (CheckJWKSURL).
	URL string
	// Refresh is the period of background refreshes (DefaultJWKSRefresh).
	Refresh time.Duration
	// UnknownKIDInterval is the least time between two refreshes caused by
	// unknown kids (DefaultJWKSUnknownKIDInterval).
	UnknownKIDInterval time.Duration
	// HTTPTimeout bounds one fetch (DefaultJWKSHTTPTimeout).
	HTTPTimeout time.Duration
	// RetryMin and RetryMax bound the backoff between attempts of the
	// first fetch (1 s and 30 s).
	RetryMin, RetryMax time.Duration
	// Client is the HTTP client (a client with HTTPTimeout when nil).
	Client *http.Client
	// Logger gets refresh failures (discarded when nil).
	Logger *slog.Logger
}

func (c JWKSConfig) withDefaults() JWKSConfig {
	if c.Refresh <= 0 {
		c.Refresh = DefaultJWKSRefresh
	}
	if c.UnknownKIDInterval <= 0 {
		c.UnknownKIDInterval = DefaultJWKSUnknownKIDInterval
	}
	if c.HTTPTimeout <= 0 {
		c.HTTPTimeout = DefaultJWKSHTTPTimeout
	}
	if c.RetryMin <= 0 {
		c.RetryMin = time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 30 * time.Second
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: c.HTTPTimeout}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// CheckJWKSURL accepts https:// URLs, and http:// ones whose host is a
// loopback address or "localhost" (a provider on the same machine).
func CheckJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("must be an absolute https:// URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if strings.EqualFold(host, "localhost") {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
		return errors.New("http:// is allowed only on a loopback host; use https://")
	default:
		return errors.New("must be an https:// URL")
	}
}

// JWKS is the key set of an identity provider, fetched from its JWKS URL
// and kept fresh (github.com/MicahParks/keyfunc/v3 with jwkset storage):
// refreshed every Refresh, and when a token names an unknown kid, such
// refreshes at most once per UnknownKIDInterval in all. Until the first
// fetch succeeds it keeps trying with backoff and Ready reports false.
// It has the Start/Stop shape of the project's components.
type JWKS struct {
	cfg     JWKSConfig
	keyfunc atomic.Pointer[keyfunc.Keyfunc]
	// remote is the cache behind keyfunc; set before keyfunc is stored.
	remote jwkset.Storage
	// unknownKID is shared by every refresh an unknown kid causes.
	unknownKID *rate.Limiter

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewJWKS returns a key source for cfg; call Start to begin fetching.
func NewJWKS(cfg JWKSConfig) (*JWKS, error) {
	if err := CheckJWKSURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("auth: JWKS URL: %w", err)
	}
	cfg = cfg.withDefaults()
	return &JWKS{
		cfg:        cfg,
		unknownKID: rate.NewLimiter(rate.Every(cfg.UnknownKIDInterval), 1),
	}, nil
}

// Start begins fetching the key set in the background and returns at once:
// a provider that is down at start delays readiness, not the process.
func (j *JWKS) Start(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cancel != nil {
		return errors.New("auth: JWKS already started")
	}
	// The refresh goroutines live until Stop, not until ctx ends: ctx only
	// covers starting.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	j.cancel, j.done = cancel, make(chan struct{})
	go j.firstFetch(runCtx)
	return nil
}

// Stop ends the background refreshes.
func (j *JWKS) Stop(ctx context.Context) error {
	j.mu.Lock()
	cancel, done := j.cancel, j.done
	j.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Ready reports whether the key set has been fetched once.
func (j *JWKS) Ready() bool { return j.keyfunc.Load() != nil }

// firstFetch creates the storage (whose creation is the first fetch) until
// it succeeds; the storage then refreshes itself every Refresh until ctx
// ends.
func (j *JWKS) firstFetch(ctx context.Context) {
	defer close(j.done)
	wait := j.cfg.RetryMin
	for {
		attemptCtx, cancelAttempt := context.WithCancel(ctx)
		remote, err := jwkset.NewStorageFromHTTP(j.cfg.URL, jwkset.HTTPClientStorageOptions{
			Client:          j.cfg.Client,
			Ctx:             attemptCtx,
			HTTPTimeout:     j.cfg.HTTPTimeout,
			RefreshInterval: j.cfg.Refresh,
			RefreshErrorHandler: func(_ context.Context, err error) {
				j.cfg.Logger.Warn("jwks refresh failed; keeping the cached keys", "jwks_host", hostOf(j.cfg.URL), "err", err)
			},
		})
		var kf keyfunc.Keyfunc
		if err == nil {
			var client jwkset.Storage
			client, err = jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
				HTTPURLs: map[string]jwkset.Storage{j.cfg.URL: remote},
				// Unknown kids are rate limited by j.unknownKID before
				// they get here (see Keyfunc), without making anyone wait;
				// past that gate the refresh may happen at once.
				RefreshUnknownKID: rate.NewLimiter(rate.Inf, 1),
			})
			if err == nil {
				kf, err = keyfunc.New(keyfunc.Options{Ctx: attemptCtx, Storage: client})
			}
		}
		if err == nil {
			j.remote = remote
			j.keyfunc.Store(&kf)
			j.cfg.Logger.Info("jwks loaded", "jwks_host", hostOf(j.cfg.URL))
			<-ctx.Done()
			cancelAttempt()
			return
		}
		cancelAttempt() // ends the failed storage's refresh goroutine
		j.cfg.Logger.Warn("jwks first fetch failed; retrying", "jwks_host", hostOf(j.cfg.URL), "retry_in", wait.String(), "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, j.cfg.RetryMax)
	}
}

// hostOf returns the scheme and host of u: the path of a JWKS URL may name
// a tenant, which logs need not carry.
func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Scheme + "://" + p.Host
}

// errUnknownKey is wrapped by the jwt library into ErrTokenUnverifiable.
var errUnknownKey = errors.New("auth: no key with the token's kid")

// Keyfunc returns the key named by the token's kid (through keyfunc,
// which also checks a key's own "alg" and "use"), after checking that the
// token's algorithm is the one the key's type allows: RSA (≥ 2048 bits) →
// RS256, EC P-256 → ES256, Ed25519 → EdDSA. A kid not in the cached set
// causes a refresh only when j.unknownKID allows one now; otherwise the
// token is refused at once.
func (j *JWKS) Keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(tok *jwt.Token) (any, error) {
		kfp := j.keyfunc.Load()
		if kfp == nil {
			return nil, ErrKeysNotLoaded
		}
		kid, _ := tok.Header[jwkset.HeaderKID].(string)
		if kid == "" {
			return nil, errors.New("auth: token has no kid")
		}
		// j.remote.KeyRead reads the cache and never fetches.
		if _, err := j.remote.KeyRead(ctx, kid); err != nil && !j.unknownKID.Allow() {
			return nil, errUnknownKey
		}
		key, err := (*kfp).KeyfuncCtx(ctx)(tok)
		if err != nil {
			return nil, errUnknownKey
		}
		alg, err := algorithmOf(key)
		if err != nil {
			return nil, err
		}
		if tok.Method == nil || tok.Method.Alg() != alg {
			return nil, errors.New("auth: token algorithm does not match its key")
		}
		return key, nil
	}
}

// algorithmOf pins each key type to one algorithm.
func algorithmOf(key any) (string, error) {
	switch k := publicOf(key).(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return "", errors.New("auth: RSA key under 2048 bits")
		}
		return jwt.SigningMethodRS256.Alg(), nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", errors.New("auth: EC key not on P-256")
		}
		return jwt.SigningMethodES256.Alg(), nil
	case ed25519.PublicKey:
		return jwt.SigningMethodEdDSA.Alg(), nil
	default:
		return "", fmt.Errorf("auth: unsupported key type %T", key)
	}
}

func publicOf(key any) any {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return &k.PublicKey
	case *ecdsa.PrivateKey:
		return &k.PublicKey
	case ed25519.PrivateKey:
		return k.Public()
	default:
		return key
	}
}
