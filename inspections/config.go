package inspections

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Cadences a campaign may have: the length of one round of inspections.
var cadences = map[string]func(time.Time) time.Time{
	"daily":   func(t time.Time) time.Time { return t.AddDate(0, 0, 1) },
	"weekly":  func(t time.Time) time.Time { return t.AddDate(0, 0, 7) },
	"monthly": func(t time.Time) time.Time { return t.AddDate(0, 1, 0) },
}

// CampaignConfig is one campaign of the campaigns section of configs/supervision.yaml.
type CampaignConfig struct {
	ID     string `yaml:"id" json:"id"`
	NameZH string `yaml:"name_zh" json:"name_zh"`
	NameEN string `yaml:"name_en" json:"name_en"`
	// Start and End are the first and last day (YYYY-MM-DD, in the server's time zone), both
	// included.
	Start string `yaml:"start" json:"start"`
	End   string `yaml:"end" json:"end"`
	// Cadence is daily, weekly, monthly or once: rounds of that length from Start, each to
	// cover every place in scope.
	Cadence string        `yaml:"cadence" json:"cadence"`
	Scope   ScopeConfig   `yaml:"scope" json:"scope"`
	Groups  []GroupConfig `yaml:"groups" json:"groups"`
}

// ScopeConfig selects the places of a campaign: the listed places plus every place matching
// both kinds and districts (an empty list matches all); nothing selected is an error.
type ScopeConfig struct {
	Places    []string `yaml:"places" json:"places,omitempty"`
	Kinds     []string `yaml:"kinds" json:"kinds,omitempty"`
	Districts []string `yaml:"districts" json:"districts,omitempty"`
}

// GroupConfig is an inspection group: its leader (an official), members drawn from several
// bureaus, and the places assigned to it (all in the campaign's scope).
type GroupConfig struct {
	ID      string   `yaml:"id" json:"id"`
	Leader  string   `yaml:"leader" json:"leader"`
	Members []string `yaml:"members" json:"members"`
	Bureaus []string `yaml:"bureaus" json:"bureaus"`
	Places  []string `yaml:"places" json:"places"`
}

// Campaign is a validated campaign.
type Campaign struct {
	CampaignConfig
	From, To time.Time // [From, To): Start 00:00 to the day after End, in the time zone
	Places   []string  // in scope, in places-file order
	groupOf  map[string][]string
}

// Campaigns are the validated campaigns, by id.
type Campaigns struct {
	list []*Campaign
	byID map[string]*Campaign
}

// Get returns the campaign id.
func (cs *Campaigns) Get(id string) (*Campaign, bool) {
	if cs == nil {
		return nil, false
	}
	c, ok := cs.byID[id]
	return c, ok
}

// List returns the campaigns in file order.
func (cs *Campaigns) List() []*Campaign {
	if cs == nil {
		return nil
	}
	return slices.Clone(cs.list)
}

// Group returns the group id of the campaign.
func (c *Campaign) Group(id string) (GroupConfig, bool) {
	for _, g := range c.Groups {
		if g.ID == id {
			return g, true
		}
	}
	return GroupConfig{}, false
}

// NewCampaigns validates the campaigns section against the places, with dates in loc. Every
// problem is reported, naming the campaign and key ("campaigns[0] (oldtown).groups[1].places:
// \"alley-x\" is not in the campaign's scope").
func NewCampaigns(cfgs []CampaignConfig, places *Places, loc *time.Location) (*Campaigns, error) {
	cs := &Campaigns{byID: map[string]*Campaign{}}
	var errs []error
	for i, cc := range cfgs {
		name := fmt.Sprintf("campaigns[%d]", i)
		if cc.ID != "" {
			name += " (" + cc.ID + ")"
		}
		c, err := newCampaign(cc, places, loc)
		if err == nil && cs.byID[cc.ID] != nil {
			err = fmt.Errorf("id: %q is used by an earlier campaign", cc.ID)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.%w", name, err))
			continue
		}
		cs.byID[c.ID] = c
		cs.list = append(cs.list, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cs, nil
}

func newCampaign(cc CampaignConfig, places *Places, loc *time.Location) (*Campaign, error) {
	if !placeIDRe.MatchString(cc.ID) {
		return nil, fmt.Errorf("id: %q is not an identifier", cc.ID)
	}
	if cc.NameZH == "" && cc.NameEN == "" {
		return nil, errors.New("name_zh: a campaign needs a name (name_zh or name_en)")
	}
	from, err := time.ParseInLocation(time.DateOnly, cc.Start, loc)
	if err != nil {
		return nil, fmt.Errorf("start: %q is not a date YYYY-MM-DD", cc.Start)
	}
	last, err := time.ParseInLocation(time.DateOnly, cc.End, loc)
	if err != nil {
		return nil, fmt.Errorf("end: %q is not a date YYYY-MM-DD", cc.End)
	}
	if last.Before(from) {
		return nil, fmt.Errorf("end: %s is before start %s", cc.End, cc.Start)
	}
	if _, ok := cadences[cc.Cadence]; !ok && cc.Cadence != "once" {
		return nil, fmt.Errorf("cadence: %q is not one of daily, weekly, monthly, once", cc.Cadence)
	}
	c := &Campaign{CampaignConfig: cc, From: from, To: last.AddDate(0, 0, 1), groupOf: map[string][]string{}}
	for j, id := range cc.Scope.Places {
		if _, ok := places.Get(id); !ok {
			return nil, fmt.Errorf("scope.places[%d]: %q is not a place of the places file", j, id)
		}
	}
	for _, p := range places.List() {
		byList := slices.Contains(cc.Scope.Places, p.ID)
		bySel := (len(cc.Scope.Kinds) > 0 || len(cc.Scope.Districts) > 0) &&
			(len(cc.Scope.Kinds) == 0 || slices.Contains(cc.Scope.Kinds, p.Kind)) &&
			(len(cc.Scope.Districts) == 0 || slices.Contains(cc.Scope.Districts, p.District))
		if byList || bySel {
			c.Places = append(c.Places, p.ID)
		}
	}
	if len(c.Places) == 0 {
		return nil, errors.New("scope: selects no place")
	}
	if len(cc.Groups) == 0 {
		return nil, errors.New("groups: a campaign needs at least one group")
	}
	seen := map[string]bool{}
	for j, g := range cc.Groups {
		switch {
		case !placeIDRe.MatchString(g.ID):
			return nil, fmt.Errorf("groups[%d].id: %q is not an identifier", j, g.ID)
		case seen[g.ID]:
			return nil, fmt.Errorf("groups[%d].id: %q is used by an earlier group", j, g.ID)
		case g.Leader == "":
			return nil, fmt.Errorf("groups[%d] (%s).leader: required (the official leading the group)", j, g.ID)
		case slices.Contains(g.Members, g.Leader):
			return nil, fmt.Errorf("groups[%d] (%s).members: the leader %q is listed again", j, g.ID, g.Leader)
		case len(g.Places) == 0:
			return nil, fmt.Errorf("groups[%d] (%s).places: a group is assigned at least one place", j, g.ID)
		}
		seen[g.ID] = true
		for k, p := range g.Places {
			if !slices.Contains(c.Places, p) {
				return nil, fmt.Errorf("groups[%d] (%s).places[%d]: %q is not in the campaign's scope", j, g.ID, k, p)
			}
			c.groupOf[p] = append(c.groupOf[p], g.ID)
		}
	}
	return c, nil
}

// Rounds returns the rounds of the campaign's cadence as [start, end) pairs; the last round
// ends with the campaign. A campaign of cadence once is one round.
func (c *Campaign) Rounds() [][2]time.Time {
	next, ok := cadences[c.Cadence]
	if !ok {
		return [][2]time.Time{{c.From, c.To}}
	}
	var out [][2]time.Time
	for t := c.From; t.Before(c.To); {
		e := next(t)
		if e.After(c.To) {
			e = c.To
		}
		out = append(out, [2]time.Time{t, e})
		t = e
	}
	return out
}
