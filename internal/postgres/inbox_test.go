package postgres_test

import (
	"github.com/chatgw/chatgw/internal/chat"
)

// three adapts AppendMessage's result to the (message, created, error) the
// older tests check.
func three(res chat.Appended, err error) (chat.Message, bool, error) {
	return res.Message, res.Created, err
}
