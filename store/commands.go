package store

import (
	"context"
	"time"
)

// Command states (SPEC 3.1): queued → sent → acknowledged | failed | expired. A sent command
// may be sent again (redelivery after a reconnect) until it reaches a final state.
const (
	CommandQueued       = "queued"       // stored, not yet published to the device
	CommandSent         = "sent"         // published to the device at least once
	CommandAcknowledged = "acknowledged" // the device answered ok
	CommandFailed       = "failed"       // the device answered not ok
	CommandExpired      = "expired"      // its TTL passed before an answer
)

// CommandEvent is one status change of a command.
type CommandEvent struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
	Note   string    `json:"note,omitempty"`
}

// Command is one command to a device (package commands owns its meaning), one row of the
// `commands` table: the queue of commands and their history at once.
type Command struct {
	ID       string // assigned by the store (decimal)
	DeviceID string
	Name     string
	// Params is the JSON object of the command's parameters.
	Params    []byte
	Status    string
	Actor     string // who queued it (api principal or rule)
	CreatedAt time.Time
	ExpiresAt time.Time
	UpdatedAt time.Time
	// Attempts is how many times the command was published (sent transitions).
	Attempts int
	// Result is the JSON of the device's answer ({"ok", "result"}); nil until it answers.
	Result  []byte
	History []CommandEvent
}

// CommandChange is one transition of UpdateCommand.
type CommandChange struct {
	Status string
	At     time.Time
	Note   string
	Result []byte // stored when non-nil
}

// Commands is the command queue (the `commands` table).
type Commands interface {
	// CreateCommand inserts c with its status and history as given; the ID is assigned by the
	// store and written back into c.
	CreateCommand(ctx context.Context, c *Command) error
	// GetCommand returns a command; ENotFound if absent.
	GetCommand(ctx context.Context, id string) (*Command, error)
	// ListCommands returns a device's commands, newest first.
	ListCommands(ctx context.Context, deviceID string, limit int, cursor string) ([]*Command, string, error)
	// PendingCommands returns a device's commands in state queued or sent that expire after
	// now, oldest first.
	PendingCommands(ctx context.Context, deviceID string, now time.Time) ([]*Command, error)
	// PendingCommandDevices returns, in id order and each once, the devices that have a
	// command queued or sent expiring after now.
	PendingCommandDevices(ctx context.Context, now time.Time) ([]string, error)
	// UpdateCommand moves command id to ch.Status, appending ch to its history (and counting
	// an attempt when ch.Status is sent), provided its stored status is one of from; otherwise
	// it fails with EConflict and changes nothing (ENotFound when absent). It returns the
	// command as stored after the change. Atomic: of two nodes answering the same command,
	// one wins.
	UpdateCommand(ctx context.Context, id string, from []string, ch CommandChange) (*Command, error)
	// ExpireCommands moves up to limit commands in state queued or sent whose ExpiresAt is
	// not after now to expired (history entry at now) and returns them.
	ExpireCommands(ctx context.Context, now time.Time, limit int) ([]*Command, error)
}
