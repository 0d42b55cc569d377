package chat

import (
	"errors"
	"fmt"
	"time"
)

// Code is one of the error codes of the public contract. Clients switch on
// it, so the values never change.
type Code string

const (
	CodeValidationFailed Code = "VALIDATION_FAILED"
	CodeUnauthorized     Code = "UNAUTHORIZED"
	CodeTokenInvalid     Code = "TOKEN_INVALID"
	CodeTokenExpired     Code = "TOKEN_EXPIRED"
	CodeSessionInvalid   Code = "SESSION_INVALID"
	CodeForbidden        Code = "FORBIDDEN"
	CodeNotFound         Code = "NOT_FOUND"
	CodePayloadTooLarge  Code = "PAYLOAD_TOO_LARGE"
	CodeRateLimited      Code = "RATE_LIMITED"
	CodeInternal         Code = "INTERNAL"
)

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error that may be shown to a client: its Message is written
// for them. Anything that is not an *Error reaches clients as INTERNAL.
type Error struct {
	Code    Code
	Message string
	// Fields lists the invalid fields of a VALIDATION_FAILED error.
	Fields []FieldError
	// RetryAfter is set on RATE_LIMITED.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with a formatted client-facing message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Sentinels for the cases adapters produce. Compare with errors.Is.
var (
	ErrNotFound       = &Error{Code: CodeNotFound, Message: "conversation not found"}
	ErrForbidden      = &Error{Code: CodeForbidden, Message: "not allowed in this conversation"}
	ErrUnauthorized   = &Error{Code: CodeUnauthorized, Message: "authentication required"}
	ErrSessionInvalid = &Error{Code: CodeSessionInvalid, Message: "unknown conversation or wrong session token"}
)

// ErrorCode returns the contract code of err: its own for an *Error
// anywhere in the chain, INTERNAL for anything else.
func ErrorCode(err error) Code {
	if e := AsError(err); e != nil {
		return e.Code
	}
	return CodeInternal
}

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// ClientError is what an edge may show a client for err: the *Error itself,
// or a generic INTERNAL whose text says nothing of the cause (which belongs
// in the log, not on the wire).
func ClientError(err error) *Error {
	if e := AsError(err); e != nil {
		return e
	}
	return &Error{Code: CodeInternal, Message: "internal error"}
}

// ValidationError builds a VALIDATION_FAILED error for the given fields.
func ValidationError(fields ...FieldError) *Error {
	msg := "invalid input"
	if len(fields) > 0 {
		msg = fields[0].Field + ": " + fields[0].Message
	}
	return &Error{Code: CodeValidationFailed, Message: msg, Fields: fields}
}
