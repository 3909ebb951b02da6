// Package owners is the owner-lookup HTTP adapter of owner notices: GET {url}?plate={plate}
// with an optional bearer token answers 200 {"phone": "..."} for a known vehicle and 404 for an
// unknown one. It must not log or return plates or phone numbers in errors.
package owners

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/lanewatch/lanewatch"
)

// Client looks owners up.
type Client struct {
	url   *url.URL
	token string
	http  *http.Client
}

// New returns a client of the service at rawURL; client nil means one with timeout.
func New(rawURL, token string, timeout time.Duration, client *http.Client) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("notices.owner_lookup.url: %q is not an http(s) URL", rawURL)
	}
	if client == nil {
		client = &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Client{url: u, token: token, http: client}, nil
}

var phoneRe = regexp.MustCompile(`^\+?[0-9]{5,20}$`)

// Phone returns the owner's phone number; lanewatch.ENotFound when the service does not know
// the plate.
func (c *Client) Phone(ctx context.Context, plate string) (string, error) {
	u := *c.url
	q := u.Query()
	q.Set("plate", plate)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("owner lookup: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL carries the plate
		}
		return "", fmt.Errorf("owner lookup: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("owner lookup: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return "", lanewatch.Errorf(lanewatch.ENotFound, "owner lookup: no owner for the plate")
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("owner lookup: status %d", resp.StatusCode)
	}
	var r struct {
		Phone string `json:"phone"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", fmt.Errorf("owner lookup: answer is not JSON with a phone: %w", err)
	}
	if !phoneRe.MatchString(r.Phone) {
		return "", lanewatch.Errorf(lanewatch.ENotFound, "owner lookup: the answer has no phone number")
	}
	return r.Phone, nil
}
