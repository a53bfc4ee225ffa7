package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Servers learn of registry changes through LISTEN/NOTIFY. Every
// transaction that changes a model name's serving state ends with
// notifyChange, which PostgreSQL delivers at commit (and never for a
// transaction rolled back); the payload is the schema and the name, since
// every schema of a database shares the channel.
const (
	registryChannel = "caresignal_registry"
	notifyChange    = "SELECT pg_notify('" + registryChannel + "', COALESCE(current_schema(), '') || '/' || $1)"
)

// How the watch behaves when its connection fails: it reconnects after
// retryMin, doubling up to retryMax while it keeps failing. A connection
// silent for idleCheck is pinged, so that one dropped without a word
// (a firewall forgetting it) is noticed.
const (
	retryMin  = 100 * time.Millisecond
	retryMax  = 5 * time.Second
	pingLimit = 5 * time.Second
)

var idleCheck = 30 * time.Second // a variable for tests

// watcher returns the store's WatchRegistry: a goroutine holding a
// connection of its own (not one of the pool's) that listens on the
// channel and signals the changes to name in the schema cfg selects.
func watcher(cfg *pgx.ConnConfig) func(ctx context.Context, name string) <-chan struct{} {
	return func(ctx context.Context, name string) <-chan struct{} {
		ch := make(chan struct{}, 1)
		go func() {
			defer close(ch)
			wait := retryMin
			for {
				listen(ctx, cfg, name, ch, func() { wait = retryMin })
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
				wait = min(2*wait, retryMax)
			}
		}()
		return ch
	}
}

// listen connects, listens and signals on ch until the connection fails
// or ctx ends. Once listening it calls listening and signals once, since
// changes made while it was not listening went unheard.
func listen(ctx context.Context, cfg *pgx.ConnConfig, name string, ch chan<- struct{}, listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return err
	}
	defer func() {
		closing, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(closing)
	}()
	var schema string
	if err := conn.QueryRow(ctx, "SELECT COALESCE(current_schema(), '')").Scan(&schema); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+registryChannel); err != nil {
		return err
	}
	listening()
	signal(ch)
	want := schema + "/" + name
	for {
		waiting, cancel := context.WithTimeout(ctx, idleCheck)
		n, err := conn.WaitForNotification(waiting)
		cancel()
		switch {
		case err == nil:
			if n.Channel == registryChannel && n.Payload == want {
				signal(ch)
			}
		case ctx.Err() != nil:
			return ctx.Err()
		case waiting.Err() != nil && !conn.IsClosed():
			// Silent for idleCheck: is the connection still there?
			pinging, cancel := context.WithTimeout(ctx, pingLimit)
			err = conn.Ping(pinging)
			cancel()
			if err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// signal sends on ch unless a signal is already waiting there.
func signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
