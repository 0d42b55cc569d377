package config

import "log/slog"

// The commands other than serve read only the variables they need
// (contract §1), each through its own loader; a new command adds one.

// Database is the configuration of the commands that only talk to the
// database: `chatgw migrate` and `chatgw webhooks …`.
type Database struct {
	URL       string // DATABASE_URL
	LogLevel  string // LOG_LEVEL
	LogFormat string // LOG_FORMAT
}

// LoadDatabase reads DATABASE_URL, LOG_LEVEL and LOG_FORMAT, and nothing else.
func LoadDatabase(getenv func(string) string) (Database, error) {
	l := &loader{getenv: getenv}
	d := Database{URL: loadDatabaseURL(l), LogLevel: loadLogLevel(l), LogFormat: loadLogFormat(l)}
	if l.err != nil {
		return Database{}, l.err
	}
	return d, nil
}

// SlogLevel returns LogLevel as a slog.Level.
func (d Database) SlogLevel() slog.Level { return slogLevel(d.LogLevel) }

// Token is the configuration of `chatgw token`: what a token needs for the
// gateway to accept it.
type Token struct {
	Secret     []byte // JWT_SECRET; required
	Issuer     string // JWT_ISSUER; set in the token when set
	Audience   string // JWT_AUDIENCE; set in the token when set
	RolesClaim string // JWT_ROLES_CLAIM; empty: auth's default
}

// LoadToken reads JWT_SECRET and the claims the gateway checks, and
// nothing else.
func LoadToken(getenv func(string) string) (Token, error) {
	l := &loader{getenv: getenv}
	var j JWTConfig
	if s := getenv("JWT_SECRET"); s != "" {
		j.Secret = []byte(s)
	} else {
		l.fail(errf("JWT_SECRET", "is required to mint tokens"))
	}
	loadClaims(l, &j)
	if l.err != nil {
		return Token{}, l.err
	}
	return Token{Secret: j.Secret, Issuer: j.Issuer, Audience: j.Audience, RolesClaim: j.RolesClaim}, nil
}
