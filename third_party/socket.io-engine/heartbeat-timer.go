package engine

import "time"

// heartbeatTimer is a socket's ping interval or ping timeout timer. It is a
// time.AfterFunc where upstream uses utils.Timer, which parks a goroutine
// for every pending timer: for the ping timers that is one goroutine, and
// its stack, for every idle socket. (chatgw patch, see third_party/README.md.)
type heartbeatTimer struct {
	timer *time.Timer
	sleep time.Duration
}

func setHeartbeatTimer(fn func(), sleep time.Duration) *heartbeatTimer {
	return &heartbeatTimer{timer: time.AfterFunc(sleep, fn), sleep: sleep}
}

// Refresh re-arms the timer for its full duration, whether it fired or not,
// as utils.Timer.Refresh does.
func (h *heartbeatTimer) Refresh() *heartbeatTimer {
	h.timer.Reset(h.sleep)
	return h
}

func clearHeartbeatTimer(h *heartbeatTimer) {
	if h != nil {
		h.timer.Stop()
	}
}
