#!/usr/bin/env bash
# make run's gateway, started by scripts/dev-postgres.sh (which sets
# DATABASE_URL): create and migrate the database, print what a newcomer
# needs, serve. Every value comes from the Makefile's DEV_* variables.
set -euo pipefail

./bin/chatgw migrate --create-database

cat <<BANNER

================================================================
 DEVELOPMENT MODE: public development secrets. Never deploy them.
   JWT_SECRET=$JWT_SECRET
   (anyone can mint tokens for this gateway)
================================================================
 Gateway:   http://$HTTP_ADDR   (CORS_ORIGINS=$CORS_ORIGINS)
 Database:  psql "$DATABASE_URL"

 Webhooks go to N8N_WEBHOOK_URL=$N8N_WEBHOOK_URL
 Configure n8n with exactly these (docs/n8n.md):
   CHATGW_WEBHOOK_SECRET=$N8N_WEBHOOK_SECRET
   Header Auth credential: Name ${N8N_WEBHOOK_AUTH_HEADER%%:*}, Value ${N8N_WEBHOOK_AUTH_HEADER#*: }
 Without an n8n there, deliveries wait in river_job as retryable.

 Try the chat:    http://$HTTP_ADDR/demo/   (the visitor widget on a sample shop)
 Anonymous chat:  curl -s -XPOST localhost:${HTTP_ADDR##*:}/v1/conversations
 Browser page:    examples/browser/README.md
 Technician JWT:  JWT_SECRET='$JWT_SECRET' ./bin/chatgw token --sub tom --roles tecnico
================================================================

BANNER

exec ./bin/chatgw serve
