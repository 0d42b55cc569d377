# chatgw — see README.md.
SHELL := /bin/bash
GO    ?= go

# make run: a local gateway on 127.0.0.1:3000 against the local PostgreSQL
# (or, when none answers there and its server binaries are installed, a
# private one under .dev/, stopped with the gateway: scripts/dev-postgres.sh),
# with development secrets. NEVER use these secrets anywhere but on your own
# machine.
DEV_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/chatgw?sslmode=disable
DEV_HTTP_ADDR    ?= 127.0.0.1:3000
DEV_JWT_SECRET   ?= dev-only-insecure-jwt-secret-do-not-deploy
# Deliveries go to a local n8n (its default port, the example workflow's
# path), signed with this secret and carrying this header: the values
# docs/n8n.md gives for a local n8n. Without one they wait in river_job.
DEV_N8N_WEBHOOK_URL         ?= http://127.0.0.1:5678/webhook/chatgw
DEV_N8N_WEBHOOK_SECRET      ?= whsec_Y2hhdGd3LWRldi1vbmx5LXdlYmhvb2stc2VjcmV0ISE=
DEV_N8N_WEBHOOK_AUTH_HEADER ?= X-Chatgw-Auth: dev-only-n8n-header-value
DEV_ENV = DEV_DATABASE_URL='$(DEV_DATABASE_URL)' HTTP_ADDR='$(DEV_HTTP_ADDR)' \
          JWT_SECRET='$(DEV_JWT_SECRET)' N8N_WEBHOOK_URL='$(DEV_N8N_WEBHOOK_URL)' \
          N8N_WEBHOOK_SECRET='$(DEV_N8N_WEBHOOK_SECRET)' \
          N8N_WEBHOOK_AUTH_HEADER='$(DEV_N8N_WEBHOOK_AUTH_HEADER)' \
          CORS_ORIGINS='$(or $(CORS_ORIGINS),*)' LOG_LEVEL='$(or $(LOG_LEVEL),info)' \
          LOG_FORMAT='$(or $(LOG_FORMAT),text)'

# Tests create their own databases on this server.
export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable

SQLC = $(GO) tool -modfile=tools/go.mod sqlc

.PHONY: build bench run test test-postgres js-deps js-test webui-vendor check-webui-vendor generate check-generate sqlc-vet vet fuzz clean third-party check-third-party n8n-e2e

build:
	$(GO) build -o bin/chatgw ./cmd/chatgw

# The benchmark (its own module, bench/) and the binary it drives, side by
# side in bin/: ./bin/chatgw-bench finds ./bin/chatgw next to itself.
bench: build
	cd bench && $(GO) build -o ../bin/chatgw-bench ./cmd/chatgw-bench

run: build
	@$(DEV_ENV) scripts/dev-postgres.sh scripts/dev-run.sh

# The whole suite: Go tests (race detector on) including the end-to-end tests
# that drive the official JavaScript client, upstream's tests of every
# patched Socket.IO module (modules of their own, which ./... does not
# reach; third_party/README.md), the bench module's tests (they build the
# product and drive it), the private-PostgreSQL script of make run and
# the browser code's node tests (js-test).
# pkg/types runs once more without the race detector: it adds allocations
# of its own, so the patches' allocation counts are only checked there.
test: test-postgres js-deps js-test
	@echo "building the packages with the race detector (the first time takes a few minutes)…"
	@set -o pipefail; $(GO) build -race -v ./... 2>&1 | awk '/^[^ #:]+$$/ { n++; printf "\r  %d packages built", n; fflush(); next } { if (n) printf "\n"; print } END { if (n) print "" }'
	$(GO) test -race -count=1 ./...
	scripts/dev-postgres-test.sh
	cd bench && $(GO) test -race -count=1 ./...
	cd third_party/socket.io && $(GO) test -race -count=1 ./...
	cd third_party/socket.io && $(GO) test -count=1 ./pkg/types/
	cd third_party/socket.io-engine && $(GO) test -race -count=1 ./...
	cd third_party/socket.io-server && $(GO) test -race -count=1 ./...
	node --test docs/examples/check-code-node.js

# One line, before minutes of compiling, when the tests' server is missing.
test-postgres:
	@command -v pg_isready >/dev/null || { echo "make test: pg_isready not found: install PostgreSQL's client tools (apt install postgresql-client)"; exit 1; }
	@pg_isready -q -t 3 -d "$$TEST_DATABASE_URL" || { echo "make test: no PostgreSQL answers at TEST_DATABASE_URL=$$(sed -E 's#(://[^:/@]*:)[^@]*@#\1xxxxx@#' <<<"$$TEST_DATABASE_URL"): start one (e.g. sudo service postgresql start) or set TEST_DATABASE_URL"; exit 1; }

js-deps: test/js/node_modules/.package-lock.json

test/js/node_modules/.package-lock.json: test/js/package.json test/js/package-lock.json
	cd test/js && npm ci --no-audit --no-fund

# Unit tests of the browser code's logic (Node's own test runner).
js-test:
	node --test internal/webui/jstest/

# The widget's Socket.IO client is the browser build of the socket.io-client
# pinned in test/js/package-lock.json, copied into the embedded files (its
# licence header kept; the source-map comment dropped: the map is not served).
WEBUI_SOCKETIO = internal/webui/static/assets/socket.io.min.js
webui-vendor: js-deps
	sed '/^\/\/# sourceMappingURL=/d' test/js/node_modules/socket.io-client/dist/socket.io.min.js > $(WEBUI_SOCKETIO)
	cp test/js/node_modules/socket.io-client/LICENSE internal/webui/static/assets/socket.io.LICENSE.txt

# CI: the committed copy is what the lock file's version gives.
check-webui-vendor: webui-vendor
	git diff --exit-code -- $(WEBUI_SOCKETIO) internal/webui/static/assets/socket.io.LICENSE.txt

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
	git diff --exit-code -- internal/postgres/internal/dbsqlc
	@test -z "$$(git status --porcelain -- internal/postgres/internal/dbsqlc)" || { echo "untracked generated files"; exit 1; }

# sqlc vet prepares every query against a real, migrated database, which
# catches type errors that generate accepts.
SQLC_VET_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/chatgw_sqlc_vet?sslmode=disable
# The database is made anew each time: one left migrated by another branch
# (a later migration number) would refuse this tree's migrations.
sqlc-vet:
	psql '$(TEST_DATABASE_URL)' -qc 'DROP DATABASE IF EXISTS chatgw_sqlc_vet WITH (FORCE)'
	DATABASE_URL='$(SQLC_VET_DATABASE_URL)' $(GO) run ./cmd/chatgw migrate --create-database
	SQLC_DATABASE_URL='$(SQLC_VET_DATABASE_URL)' $(SQLC) vet

clean:
	rm -rf bin
