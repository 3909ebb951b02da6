package dispatch

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch"
)

// Kinds of signed public links.
const (
	LinkRating = "rate"  // the reporter's rating page of a case
	LinkMedia  = "media" // one attachment of a case, for Open311 media_url
)

// linkKeyState is where LinkKey keeps the generated key.
const linkKeyState = "dispatch/link_key"

// KeyStates is the state store LinkKey needs (store.Store satisfies it).
type KeyStates interface {
	GetState(ctx context.Context, key string) ([]byte, error)
	PutState(ctx context.Context, key string, value []byte) error
}

// LinkKey returns the key public links are signed with: the one kept in the store, or a new
// random 32-byte key stored there on first use (so every node and every restart signs alike).
func LinkKey(ctx context.Context, st KeyStates) ([]byte, error) {
	k, err := st.GetState(ctx, linkKeyState)
	if err == nil && len(k) >= 32 {
		return k, nil
	}
	if err != nil && lanewatch.ErrorCode(err) != lanewatch.ENotFound {
		return nil, fmt.Errorf("read link key: %w", err)
	}
	k = make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("make link key: %w", err)
	}
	if err := st.PutState(ctx, linkKeyState, k); err != nil {
		return nil, fmt.Errorf("store link key: %w", err)
	}
	return k, nil
}

// sign returns the signature of a link to (kind, id) valid until exp (Unix seconds).
func (s *Service) sign(kind, id string, exp int64) string {
	m := hmac.New(sha256.New, s.o.LinkKey)
	fmt.Fprintf(m, "%s\x00%s\x00%d", kind, id, exp)
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// signedQuery returns "exp=…&sig=…" for a link to (kind, id) valid for ttl from now; "" when
// no link key is configured.
func (s *Service) signedQuery(kind, id string, ttl time.Duration) string {
	if len(s.o.LinkKey) == 0 {
		return ""
	}
	exp := s.o.Now().Add(ttl).Unix()
	return url.Values{"exp": {strconv.FormatInt(exp, 10)}, "sig": {s.sign(kind, id, exp)}}.Encode()
}

// CheckLink verifies a signed link to (kind, id): EForbidden naming what is wrong (no key,
// bad or missing signature, expired).
func (s *Service) CheckLink(kind, id, exp, sig string) error {
	if len(s.o.LinkKey) == 0 {
		return lanewatch.Errorf(lanewatch.EForbidden, "public links are not enabled")
	}
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || sig == "" {
		return lanewatch.Errorf(lanewatch.EForbidden, "link: exp and sig required")
	}
	if !hmac.Equal([]byte(strings.ToLower(sig)), []byte(s.sign(kind, id, e))) {
		return lanewatch.Errorf(lanewatch.EForbidden, "link: signature does not match")
	}
	if !s.o.Now().Before(time.Unix(e, 0)) {
		return lanewatch.Errorf(lanewatch.EForbidden, "link: expired")
	}
	return nil
}

// RatingURL is the reporter's rating page of case id (public, signed, valid for
// Options.RatingLinkTTL); "" without a link key.
func (s *Service) RatingURL(id string) string {
	q := s.signedQuery(LinkRating, id, s.o.RatingLinkTTL)
	if q == "" {
		return ""
	}
	return s.o.PublicURL + "/console/rate.html?" + url.Values{"case": {id}}.Encode() + "&" + q
}

// MediaURL is a public, signed link to one attachment of a case (Open311 media_url), valid
// for Options.MediaLinkTTL from now; "" without a link key.
func (s *Service) MediaURL(caseID, attachmentID string) string {
	q := s.signedQuery(LinkMedia, caseID+"/"+attachmentID, s.o.MediaLinkTTL)
	if q == "" {
		return ""
	}
	return s.o.PublicURL + "/open311/v2/media/" + url.PathEscape(caseID) + "/" + url.PathEscape(attachmentID) + "?" + q
}

// RatingCase returns case id for its public rating page after checking the link.
func (s *Service) RatingCase(ctx context.Context, id, exp, sig string) (*lanewatch.Case, error) {
	if err := s.CheckLink(LinkRating, id, exp, sig); err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// RateByLink records the reporter's rating through a signed rating link (once per case).
func (s *Service) RateByLink(ctx context.Context, id, exp, sig string, score int, comment string) (*lanewatch.Case, error) {
	if err := s.CheckLink(LinkRating, id, exp, sig); err != nil {
		return nil, err
	}
	return s.Rate(ctx, id, score, comment, Actor{Role: RoleReporter, Name: "link"})
}
