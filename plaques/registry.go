package plaques

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Load makes the stored registry authoritative: every plaque of the YAML seed whose id is not
// stored yet (neither live nor deleted: a deleted plaque keeps a tombstone, so the seed does not
// bring it back, the API owns a plaque once it is stored) is stored, then the registry is read
// back from the store. Until Load is called the Service serves the YAML seed only. It returns
// how many seed plaques were stored.
func (s *Service) Load(ctx context.Context) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	stored, err := s.o.Store.ListPlaques(ctx)
	if err != nil {
		return 0, fmt.Errorf("load plaque registry: %w", err)
	}
	have := make(map[string]bool, len(stored))
	for _, r := range stored {
		have[r.ID] = true
	}
	seeded, tried := 0, false
	for _, p := range s.o.Config.Plaques {
		if have[p.ID] {
			continue
		}
		// Insert-if-absent: another node seeding at the same time does not overwrite.
		created, err := s.o.Store.SeedPlaque(ctx, toStored(&p, s.o.Now()))
		if err != nil {
			return seeded, fmt.Errorf("seed plaque %q: %w", p.ID, err)
		}
		tried = true
		if created {
			seeded++
		}
	}
	if tried {
		if stored, err = s.o.Store.ListPlaques(ctx); err != nil {
			return seeded, fmt.Errorf("load plaque registry: %w", err)
		}
	}
	byID := make(map[string]*Plaque, len(stored))
	for _, r := range stored {
		if r.Deleted {
			continue
		}
		byID[r.ID] = fromStored(r)
	}
	s.mu.Lock()
	s.byID = byID
	s.mu.Unlock()
	s.logger.Info("plaque registry loaded", "plaques", len(byID), "seeded", seeded)
	return seeded, nil
}

// toStored is the stored form of p.
func toStored(p *Plaque, now time.Time) store.Plaque {
	return store.Plaque{ID: p.ID, Address: p.Address, District: p.District, Lat: p.Lat, Lon: p.Lon,
		PartyName: p.Party.Name, PartyContact: p.Party.Contact, PartyDepartment: p.Party.Department,
		PartyDuties: slices.Clone(p.Party.Duties), UpdatedAt: now}
}

func fromStored(r store.Plaque) *Plaque {
	return &Plaque{ID: r.ID, Address: r.Address, District: r.District, Lat: r.Lat, Lon: r.Lon,
		Party: Party{Name: r.PartyName, Contact: r.PartyContact, Department: r.PartyDepartment, Duties: r.PartyDuties}}
}

// lookup returns the plaque with the id; the caller must not modify it.
func (s *Service) lookup(id string) (*Plaque, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.byID[id]
	return p, ok
}

// List returns up to limit plaques (store.DefaultLimit when limit <= 0) with ids after cursor,
// in id order, with their full contact, and the cursor of the next page ("" on the last one).
func (s *Service) List(_ context.Context, limit int, cursor string) ([]Plaque, string, error) {
	if limit <= 0 {
		limit = 100
	}
	s.mu.RLock()
	ids := make([]string, 0, len(s.byID))
	for id := range s.byID {
		if id > cursor {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = ids[limit-1]
	}
	out := make([]Plaque, 0, len(ids))
	for _, id := range ids {
		out = append(out, clonePlaque(s.byID[id]))
	}
	s.mu.RUnlock()
	return out, next, nil
}

// Lookup returns the full (unmasked) registry entry of a plaque; ENotFound if unknown.
func (s *Service) Lookup(_ context.Context, id string) (*Plaque, error) {
	p, ok := s.lookup(id)
	if !ok {
		return nil, lanewatch.Errorf(lanewatch.ENotFound, "no plaque %q", id)
	}
	c := clonePlaque(p)
	return &c, nil
}

// Create adds a plaque to the registry and stores it; EInvalid naming every bad field,
// EConflict if the id exists.
func (s *Service) Create(ctx context.Context, p Plaque) (*Plaque, error) {
	p = clonePlaque(&p)
	if err := invalidPlaque(&p); err != nil {
		return nil, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, ok := s.lookup(p.ID); ok {
		return nil, lanewatch.Errorf(lanewatch.EConflict, "plaque %q already exists", p.ID)
	}
	if err := s.save(ctx, toStored(&p, s.o.Now())); err != nil {
		return nil, err
	}
	s.set(p.ID, &p)
	s.logger.Info("plaque created", "plaque", p.ID)
	c := clonePlaque(&p)
	return &c, nil
}

// Update replaces the plaque with the id (p.ID must be empty or the same id); ENotFound if
// unknown, EInvalid naming every bad field.
func (s *Service) Update(ctx context.Context, id string, p Plaque) (*Plaque, error) {
	p = clonePlaque(&p)
	if p.ID != "" && p.ID != id {
		return nil, lanewatch.Errorf(lanewatch.EInvalid, "id: %q does not match the plaque in the path (%q); ids cannot change", p.ID, id)
	}
	p.ID = id
	if err := invalidPlaque(&p); err != nil {
		return nil, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, ok := s.lookup(id); !ok {
		return nil, lanewatch.Errorf(lanewatch.ENotFound, "no plaque %q", id)
	}
	if err := s.save(ctx, toStored(&p, s.o.Now())); err != nil {
		return nil, err
	}
	s.set(id, &p)
	s.logger.Info("plaque updated", "plaque", id)
	c := clonePlaque(&p)
	return &c, nil
}

// Delete removes the plaque with the id (a tombstone is stored so the YAML seed does not bring
// it back); ENotFound if unknown.
func (s *Service) Delete(ctx context.Context, id string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, ok := s.lookup(id); !ok {
		return lanewatch.Errorf(lanewatch.ENotFound, "no plaque %q", id)
	}
	if err := s.save(ctx, store.Plaque{ID: id, Deleted: true, UpdatedAt: s.o.Now()}); err != nil {
		return err
	}
	s.set(id, nil)
	s.logger.Info("plaque deleted", "plaque", id)
	return nil
}

func (s *Service) save(ctx context.Context, p store.Plaque) error {
	if err := s.o.Store.PutPlaque(ctx, p); err != nil {
		return fmt.Errorf("store plaque %q: %w", p.ID, err)
	}
	if s.o.OnChange != nil {
		s.o.OnChange(ctx, p.ID)
	}
	return nil
}

// set replaces (or with nil removes) the in-memory entry of id.
func (s *Service) set(id string, p *Plaque) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p == nil {
		delete(s.byID, id)
		return
	}
	s.byID[id] = p
}

// invalidPlaque returns an EInvalid error naming every bad field of p, or nil.
func invalidPlaque(p *Plaque) error {
	errs := p.check()
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return lanewatch.Errorf(lanewatch.EInvalid, "%s", strings.Join(msgs, "; "))
}

func clonePlaque(p *Plaque) Plaque {
	c := *p
	c.Party.Duties = slices.Clone(p.Party.Duties)
	return c
}
