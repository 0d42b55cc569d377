// Package chat is chatgw's domain: conversations, messages, identities, the
// error codes of the public contract, and the use cases that every edge
// (Socket.IO, HTTP) shares. It imports nothing of the project; adapters
// (postgres, gateway, httpapi, webhook) depend on it, never the other way.
package chat
