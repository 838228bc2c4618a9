package admin

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"gridbot/flows"
)

// Error is an answer a handler chose for a request itself: an HTTP status
// and the message the client is shown (the rule a bad request broke, what
// was not found). The console answers it in the same way, on its pages.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

// BadRequest is a 400 saying what is wrong.
func BadRequest(msg string) error { return &Error{Status: http.StatusBadRequest, Message: msg} }

// NotFound is a 404 saying msg when err is flows.ErrNotFound; any other
// error (nil too) is returned as it is.
func NotFound(err error, msg string) error {
	if errors.Is(err, flows.ErrNotFound) {
		return &Error{Status: http.StatusNotFound, Message: msg}
	}
	return err
}

// Responder answers the requests of one edge that fail (the API's in
// JSON, the console's on its pages), each edge in its own words.
type Responder struct {
	// Forbidden is the message of a refusal of the access rules.
	Forbidden func(*flows.ForbiddenError) string
	// NotFound, Conflict and Internal are the messages of
	// flows.ErrNotFound, flows.ErrConflict and any other error.
	NotFound, Conflict, Internal string
	// Busy is the message of flows.ErrBusy.
	Busy string
	// NeedsNote is the status of a report status change that needs a
	// note (the API's 400, the console's 422).
	NeedsNote int
	// Write writes an answer and stops the chain.
	Write func(c *gin.Context, status int, msg string)
	// Log logs the errors answered with 500, Name (the edge's) its message.
	Log  *slog.Logger
	Name string
}

// Answer is the one mapping of a failed request's error to the status and
// message its edge answers with:
//
//   - *Error: its own status and message;
//   - *flows.ForbiddenError: 403, the Forbidden message;
//   - *flows.InvalidMoveError: 409, or NeedsNote for a move that needs a
//     note, with the rule it broke;
//   - *flows.ClosedMonthError: 409, saying the month is closed;
//   - *flows.FrozenMonthError: 409, saying what a closed month refuses;
//   - flows.ErrNotFound: 404; flows.ErrConflict: 409;
//   - flows.ErrBusy: 503, the Busy message;
//   - anything else: 500, the Internal message.
func (r Responder) Answer(err error) (status int, msg string) {
	var own *Error
	var forbidden *flows.ForbiddenError
	var move *flows.InvalidMoveError
	var closed *flows.ClosedMonthError
	var frozen *flows.FrozenMonthError
	switch {
	case errors.As(err, &own):
		return own.Status, own.Message
	case errors.As(err, &forbidden):
		return http.StatusForbidden, r.Forbidden(forbidden)
	case errors.As(err, &move) && move.NeedsNote:
		return r.NeedsNote, move.Error()
	case errors.As(err, &move):
		return http.StatusConflict, move.Error()
	case errors.As(err, &closed):
		return http.StatusConflict, closed.Reason("记录")
	case errors.As(err, &frozen):
		return http.StatusConflict, frozen.Error()
	case errors.Is(err, flows.ErrNotFound):
		return http.StatusNotFound, r.NotFound
	case errors.Is(err, flows.ErrConflict):
		return http.StatusConflict, r.Conflict
	case errors.Is(err, flows.ErrBusy):
		return http.StatusServiceUnavailable, r.Busy
	}
	return http.StatusInternalServerError, r.Internal
}

// Fail answers a request that failed with err, as Answer maps it; an
// error answered with 500 is logged here, once, with the operation.
func (r Responder) Fail(c *gin.Context, op string, err error) {
	status, msg := r.Answer(err)
	if status == http.StatusInternalServerError {
		r.Log.ErrorContext(c.Request.Context(), r.Name, slog.String("op", op), slog.Any("error", err))
	}
	r.Write(c, status, msg)
}

// Handle serves a request with h, answering the error it returns with Fail.
func (r Responder) Handle(op string, h func(*gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			r.Fail(c, op, err)
		}
	}
}

// responder is the API's: {"error": "..."} bodies.
func responder(log *slog.Logger) Responder {
	return Responder{
		Forbidden: forbiddenMessage,
		NotFound:  "not found", Conflict: "conflict", Internal: "internal error",
		Busy:      "busy: nothing was changed, try again in a moment",
		NeedsNote: http.StatusBadRequest,
		Write:     abort, Log: log, Name: "admin api",
	}
}

// forbiddenMessage says what a refusal of the access rules refused.
func forbiddenMessage(e *flows.ForbiddenError) string {
	switch e.Resource {
	case flows.ResourceNoticeTargets:
		return `a unit admin may notify only their own unit: targets {"units": [` + strconv.Quote(e.Unit) + `]}`
	case flows.ResourceNotice:
		return "not a notice to your unit"
	case flows.ResourceWorkbook:
		return "the workbook covers every unit: office admins only"
	case flows.ResourceMonth:
		return "closing a month covers every unit: office admins only"
	case flows.ResourceSchedule:
		return "the reminders' schedules cover every unit: office admins only"
	case flows.ResourceRejection:
		return "不予处理 takes a report out of the assessment: office admins only"
	}
	return "not your unit"
}

// abort writes an error body with a status and stops the chain.
func abort(c *gin.Context, status int, msg string) {
	c.AbortWithStatusJSON(status, gin.H{"error": msg})
}
