# chatgw — see README.md.
SHELL := /bin/bash
GO    ?= go

# make run: a local gateway against the local PostgreSQL, with a development
# JWT secret. NEVER use this secret anywhere but on your own machine.
DEV_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/chatgw?sslmode=disable
DEV_JWT_SECRET   ?= dev-only-insecure-jwt-secret-do-not-deploy
# Deliveries go to a local n8n (its default port, the example workflow's
# path: docs/n8n.md). Without one they wait in river_job, retrying.
DEV_N8N_WEBHOOK_URL ?= http://127.0.0.1:5678/webhook/chatgw
DEV_ENV = DATABASE_URL='$(DEV_DATABASE_URL)' JWT_SECRET='$(DEV_JWT_SECRET)' \
          N8N_WEBHOOK_URL='$(DEV_N8N_WEBHOOK_URL)' \
          CORS_ORIGINS='$(or $(CORS_ORIGINS),*)' LOG_LEVEL='$(or $(LOG_LEVEL),info)'

# Tests create their own databases on this server.
export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable

SQLC = $(GO) tool -modfile=tools/go.mod sqlc

.PHONY: build bench run test js-deps generate check-generate sqlc-vet vet fuzz clean third-party check-third-party

build:
	$(GO) build -o bin/chatgw ./cmd/chatgw

# The benchmark (its own module, bench/) and the binary it drives, side by
# side in bin/: ./bin/chatgw-bench finds ./bin/chatgw next to itself.
bench: build
	cd bench && $(GO) build -o ../bin/chatgw-bench ./cmd/chatgw-bench

run: build
	@echo "================================================================"
	@echo " DEVELOPMENT MODE: JWT_SECRET is the public dev secret"
	@echo "   '$(DEV_JWT_SECRET)'"
	@echo " Anyone can mint tokens for this gateway. Never deploy it."
	@echo "================================================================"
	@$(DEV_ENV) ./bin/chatgw migrate --create-database
	@echo
	@echo "Mint a token:    $(DEV_ENV) ./bin/chatgw token --sub alice --roles tecnico"
	@echo "Anonymous chat:  curl -s -XPOST localhost:3000/v1/conversations"
	@echo "Then connect with socket.io-client, auth {conversationId, session_token} — see README.md"
	@echo
	$(DEV_ENV) ./bin/chatgw serve

# The whole suite: Go tests (race detector on) including the end-to-end tests
# that drive the official JavaScript client, upstream's tests of every
# patched Socket.IO module (modules of their own, which ./... does not
# reach; third_party/README.md), and the bench module's tests (they build
# the product and drive it). pkg/types runs once more without the race
# detector: it adds allocations of its own, so the patches' allocation
# counts are only checked there.
test: js-deps
	$(GO) test -race -count=1 ./...
	cd bench && $(GO) test -race -count=1 ./...
	cd third_party/socket.io && $(GO) test -race -count=1 ./...
	cd third_party/socket.io && $(GO) test -count=1 ./pkg/types/
	cd third_party/socket.io-engine && $(GO) test -race -count=1 ./...
	cd third_party/socket.io-server && $(GO) test -race -count=1 ./...

js-deps: test/js/node_modules/.package-lock.json

test/js/node_modules/.package-lock.json: test/js/package.json test/js/package-lock.json
	cd test/js && npm ci --no-audit --no-fund

vet:
	$(GO) vet ./...

# A short pass of every fuzz target over the decoders of client input, on
# top of the committed seeds (FUZZTIME=10m for a real hunt).
fuzz:
	FUZZTIME=$${FUZZTIME:-5s} ./scripts/fuzz-short.sh

# The patched Socket.IO modules under third_party/: upstream at the version
# go.mod pins, plus third_party/patches. SOCKETIO_VERSION=vX.Y.Z moves to
# another release (then make test); see third_party/README.md.
third-party:
	SOCKETIO_VERSION='$(SOCKETIO_VERSION)' GO='$(GO)' ./scripts/third-party.sh

# CI: the committed copies must be exactly what the script makes.
check-third-party:
	GO='$(GO)' ./scripts/third-party.sh
	git diff --exit-code -- third_party
	@test -z "$$(git status --porcelain -- third_party)" || { git status --porcelain -- third_party; echo "third_party/ differs from upstream + patches: run make third-party"; exit 1; }

generate:
	$(SQLC) generate

# CI: the committed generated code must be what sqlc makes of sql/.
check-generate:
	$(SQLC) generate
	git diff --exit-code -- internal/postgres/dbsqlc
	@test -z "$$(git status --porcelain -- internal/postgres/dbsqlc)" || { echo "untracked generated files"; exit 1; }

# sqlc vet prepares every query against a real, migrated database, which
# catches type errors that generate accepts.
SQLC_VET_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/chatgw_sqlc_vet?sslmode=disable
sqlc-vet:
	DATABASE_URL='$(SQLC_VET_DATABASE_URL)' JWT_SECRET=sqlc-vet-unused-0123456789abcdef0123 $(GO) run ./cmd/chatgw migrate --create-database
	SQLC_DATABASE_URL='$(SQLC_VET_DATABASE_URL)' $(SQLC) vet

clean:
	rm -rf bin
