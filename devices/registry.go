package devices

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Store is the part of the store the registry needs.
type Store interface {
	CreateDevice(ctx context.Context, d *lanewatch.Device) error
	UpdateDevice(ctx context.Context, d *lanewatch.Device) error
	DeleteDevice(ctx context.Context, id string) error
	GetDevice(ctx context.Context, id string) (*lanewatch.Device, error)
	ListDevices(ctx context.Context, f store.DeviceFilter) ([]*lanewatch.Device, string, error)
	SetPresence(ctx context.Context, id string, online bool, at time.Time) error
}

// Options configure a Registry.
type Options struct {
	Store      Store
	BcryptCost int // default bcrypt.DefaultCost
	Now        func() time.Time
	Logger     *slog.Logger
	// OnChange, if set, is called after a device is created, updated (also a new password) or
	// deleted, e.g. to tell other nodes to drop their cached copy.
	OnChange func(ctx context.Context, id string)
}

// Registry is the device registry. It caches device attributes (not passwords) and successful
// password checks so that reconnect storms do not each pay for a bcrypt comparison.
type Registry struct {
	store    Store
	cost     int
	onChange func(ctx context.Context, id string)
	now      func() time.Time
	logger   *slog.Logger
	// dummyHash is compared against for unknown devices, so they cost the same time as known ones.
	dummyHash []byte

	mu       sync.RWMutex
	cache    map[string]*lanewatch.Device // by id; PasswordHash cleared
	verified map[string][32]byte          // id -> sha256(hash || password) of the last good check
	presence map[string]presence          // pending presence updates, flushed by FlushPresence
}

type presence struct {
	online bool
	at     time.Time
}

// MinPasswordLen is the shortest password the registry accepts.
const MinPasswordLen = 8

// New returns a registry over st.
func New(o Options) *Registry {
	if o.BcryptCost == 0 {
		o.BcryptCost = bcrypt.DefaultCost
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	dummy, _ := bcrypt.GenerateFromPassword([]byte("lanewatch-unknown-device"), o.BcryptCost)
	return &Registry{
		dummyHash: dummy,
		store:     o.Store, cost: o.BcryptCost, onChange: o.OnChange, now: o.Now, logger: o.Logger.With("component", "devices"),
		cache: map[string]*lanewatch.Device{}, verified: map[string][32]byte{}, presence: map[string]presence{},
	}
}

// Create validates d, hashes password and stores the device.
func (r *Registry) Create(ctx context.Context, d *lanewatch.Device, password string) error {
	if err := r.create(ctx, d, password); err != nil {
		return err
	}
	r.changed(ctx, d.ID)
	return nil
}

// create is Create without reporting the change (seeding: a device that did not exist is in
// no other node's cache).
func (r *Registry) create(ctx context.Context, d *lanewatch.Device, password string) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if len(password) < MinPasswordLen {
		return lanewatch.Errorf(lanewatch.EInvalid, "password: at least %d characters required", MinPasswordLen)
	}
	h, err := r.hash(password)
	if err != nil {
		return err
	}
	now := r.now().UTC()
	d.PasswordHash, d.CreatedAt, d.UpdatedAt = h, now, now
	if d.Tags == nil {
		d.Tags = map[string]string{}
	}
	if err := r.store.CreateDevice(ctx, d); err != nil {
		return fmt.Errorf("create device %q: %w", d.ID, err)
	}
	r.forget(d.ID)
	return nil
}

// Update replaces the registry fields of an existing device. The password is unchanged unless
// password is non-empty.
func (r *Registry) Update(ctx context.Context, d *lanewatch.Device, password string) error {
	if err := d.Validate(); err != nil {
		return err
	}
	d.PasswordHash = ""
	if password != "" {
		if len(password) < MinPasswordLen {
			return lanewatch.Errorf(lanewatch.EInvalid, "password: at least %d characters required", MinPasswordLen)
		}
		h, err := r.hash(password)
		if err != nil {
			return err
		}
		d.PasswordHash = h
	}
	if d.Tags == nil {
		d.Tags = map[string]string{}
	}
	d.UpdatedAt = r.now().UTC()
	if err := r.store.UpdateDevice(ctx, d); err != nil {
		return fmt.Errorf("update device %q: %w", d.ID, err)
	}
	r.changed(ctx, d.ID)
	return nil
}

// SetPassword rotates a device's password.
func (r *Registry) SetPassword(ctx context.Context, id, password string) error {
	d, err := r.store.GetDevice(ctx, id)
	if err != nil {
		return fmt.Errorf("rotate password of %q: %w", id, err)
	}
	return r.Update(ctx, d, password)
}

// Delete removes a device.
func (r *Registry) Delete(ctx context.Context, id string) error {
	if err := r.store.DeleteDevice(ctx, id); err != nil {
		return fmt.Errorf("delete device %q: %w", id, err)
	}
	r.changed(ctx, id)
	return nil
}

// Get returns a device without its password hash, with pending presence applied.
func (r *Registry) Get(ctx context.Context, id string) (*lanewatch.Device, error) {
	d, err := r.store.GetDevice(ctx, id)
	if err != nil {
		return nil, err
	}
	d.PasswordHash = ""
	r.applyPresence(d)
	return d, nil
}

// List returns a page of devices without password hashes.
func (r *Registry) List(ctx context.Context, f store.DeviceFilter) ([]*lanewatch.Device, string, error) {
	ds, next, err := r.store.ListDevices(ctx, f)
	if err != nil {
		return nil, "", err
	}
	for _, d := range ds {
		d.PasswordHash = ""
		r.applyPresence(d)
	}
	return ds, next, nil
}

// Lookup returns the cached attributes of device id (no password hash), loading them from the
// store on a miss. The returned device must not be modified.
func (r *Registry) Lookup(ctx context.Context, id string) (*lanewatch.Device, error) {
	r.mu.RLock()
	d, ok := r.cache[id]
	r.mu.RUnlock()
	if ok {
		return d, nil
	}
	d, err := r.store.GetDevice(ctx, id)
	if err != nil {
		return nil, err
	}
	d.PasswordHash = ""
	r.mu.Lock()
	r.cache[id] = d
	r.mu.Unlock()
	return d, nil
}

// Authenticate checks a device's password and returns its attributes. Unknown devices and wrong
// passwords get the same EUnauthorized error.
func (r *Registry) Authenticate(ctx context.Context, id, password string) (*lanewatch.Device, error) {
	denied := lanewatch.Errorf(lanewatch.EUnauthorized, "bad device id or password")
	if !lanewatch.ValidDeviceID(id) || password == "" || len(password) > 256 {
		return nil, denied
	}
	full, err := r.store.GetDevice(ctx, id)
	if err != nil {
		if lanewatch.ErrorCode(err) == lanewatch.ENotFound {
			// Spend comparable time so unknown ids are not distinguishable by timing.
			_ = bcrypt.CompareHashAndPassword(r.dummyHash, []byte(password))
			return nil, denied
		}
		return nil, fmt.Errorf("authenticate %q: %w", id, err)
	}
	sum := sha256.Sum256([]byte(full.PasswordHash + "\x00" + password))
	r.mu.RLock()
	prev, ok := r.verified[id]
	r.mu.RUnlock()
	if !ok || subtle.ConstantTimeCompare(prev[:], sum[:]) != 1 {
		if bcrypt.CompareHashAndPassword([]byte(full.PasswordHash), []byte(password)) != nil {
			return nil, denied
		}
		r.mu.Lock()
		r.verified[id] = sum
		r.mu.Unlock()
	}
	full.PasswordHash = ""
	r.mu.Lock()
	r.cache[id] = full
	r.mu.Unlock()
	return full, nil
}

// Touch records that a device was seen (online) at at. It is buffered in memory and written by
// FlushPresence, so the hot path does not write the store per message.
func (r *Registry) Touch(id string, at time.Time) { r.setPresence(id, true, at) }

// SetOnline records a device's explicit online state (connect, disconnect, status message).
func (r *Registry) SetOnline(id string, online bool, at time.Time) { r.setPresence(id, online, at) }

func (r *Registry) setPresence(id string, online bool, at time.Time) {
	r.mu.Lock()
	if p, ok := r.presence[id]; !ok || !at.Before(p.at) || online != p.online {
		if ok && at.Before(p.at) {
			at = p.at
		}
		r.presence[id] = presence{online: online, at: at}
	}
	r.mu.Unlock()
}

// FlushPresence writes pending presence updates to the store.
func (r *Registry) FlushPresence(ctx context.Context) error {
	r.mu.Lock()
	pending := r.presence
	r.presence = map[string]presence{}
	r.mu.Unlock()
	for id, p := range pending {
		if err := r.store.SetPresence(ctx, id, p.online, p.at); err != nil {
			// Put back what was not written; newer updates win.
			r.mu.Lock()
			for id2, p2 := range pending {
				if _, ok := r.presence[id2]; !ok {
					r.presence[id2] = p2
				}
			}
			r.mu.Unlock()
			return fmt.Errorf("flush presence of %q: %w", id, err)
		}
	}
	return nil
}

func (r *Registry) applyPresence(d *lanewatch.Device) {
	r.mu.RLock()
	p, ok := r.presence[d.ID]
	r.mu.RUnlock()
	if ok {
		at := p.at
		d.Online, d.LastSeen = p.online, &at
	}
}

// Forget drops the cached attributes and password check of a device, so the next lookup reads
// the store (another node changed the device).
func (r *Registry) Forget(id string) { r.forget(id) }

// ForgetAll drops every cached device (a notification from another node may have been missed).
func (r *Registry) ForgetAll() {
	r.mu.Lock()
	clear(r.cache)
	clear(r.verified)
	r.mu.Unlock()
}

// changed drops the cached copy of a device this registry changed and reports the change.
func (r *Registry) changed(ctx context.Context, id string) {
	r.forget(id)
	if r.onChange != nil {
		r.onChange(ctx, id)
	}
}

func (r *Registry) forget(id string) {
	r.mu.Lock()
	delete(r.cache, id)
	delete(r.verified, id)
	r.mu.Unlock()
}

func (r *Registry) hash(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), r.cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}
