package postgres

import "time"

// SetIdleCheck makes watches ping their connection after d of silence
// until the returned function is called.
func SetIdleCheck(d time.Duration) (restore func()) {
	was := idleCheck
	idleCheck = d
	return func() { idleCheck = was }
}
