// Package webhook delivers committed messages to n8n: the River job that
// the send transaction inserts, and the worker that POSTs it.
package webhook

import (
	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/chatgw/chatgw/internal/chat"
)

// Kind is the River job kind of a delivery; DBAs filter river_job on it.
const Kind = "webhook_delivery"

// Queue is the River queue deliveries run on.
const Queue = "webhooks"

// DeliveryArgs is one message to deliver. The message itself is loaded when
// the job runs, so river_job holds ids only, not conversation content.
type DeliveryArgs struct {
	MessageID      uuid.UUID `json:"message_id"`
	ConversationID uuid.UUID `json:"conversation_id"`
	// SocketID is the sending socket's id; empty for messages sent over HTTP.
	SocketID string `json:"socket_id,omitempty"`
}

// Kind implements river.JobArgs.
func (DeliveryArgs) Kind() string { return Kind }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (DeliveryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue}
}

// NewDeliveryArgs is the job the send transaction inserts for msg.
func NewDeliveryArgs(msg chat.Message, socketID string) river.JobArgs {
	return DeliveryArgs{MessageID: msg.ID, ConversationID: msg.ConversationID, SocketID: socketID}
}
