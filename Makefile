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

.PHONY: build run test js-deps generate check-generate sqlc-vet vet fuzz clean n8n-e2e

build:
	$(GO) build -o bin/chatgw ./cmd/chatgw

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
# that drive the official JavaScript client, and the tests of the patched
# Socket.IO packages (a module of their own, which ./... does not reach),
# also once without the race detector: it adds allocations of its own, so
# their allocation counts are only checked there.
test: js-deps
	$(GO) test -race -count=1 ./...
	cd third_party/socket.io && $(GO) test -race -count=1 ./pkg/types/
	cd third_party/socket.io && $(GO) test -count=1 ./pkg/types/
	node --test docs/examples/check-code-node.js

js-deps: test/js/node_modules/.package-lock.json

test/js/node_modules/.package-lock.json: test/js/package.json test/js/package-lock.json
	cd test/js && npm ci --no-audit --no-fund

# The example workflow against a real n8n (not part of test or CI: it
# installs n8n, several hundred MB, into $(N8N_E2E_CACHE) on first run).
# N8N_VERSION picks the release (1.123.x needs Node 22, fetched from npm).
N8N_VERSION   ?= 1.123.81
N8N_E2E_CACHE ?= $(HOME)/.cache/chatgw-n8n
n8n-e2e: build
	CHATGW_N8N_CACHE='$(N8N_E2E_CACHE)' ./scripts/n8n-e2e.sh '$(N8N_VERSION)'

vet:
	$(GO) vet ./...

# A short pass of every fuzz target over the decoders of client input, on
# top of the committed seeds (FUZZTIME=10m for a real hunt).
fuzz:
	FUZZTIME=$${FUZZTIME:-5s} ./scripts/fuzz-short.sh

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
	DATABASE_URL='$(SQLC_VET_DATABASE_URL)' JWT_SECRET=sqlc-vet-unused $(GO) run ./cmd/chatgw migrate --create-database
	SQLC_DATABASE_URL='$(SQLC_VET_DATABASE_URL)' $(SQLC) vet

clean:
	rm -rf bin
