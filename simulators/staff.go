package simulators

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Staff works cases through their lifecycle over lanewatch's HTTP API the way the operator
// desk (坐席员) and the departments do during a working day, so a demo shows cases in every
// state and moving: the operator accepts (立案) or rejects new reports, dispatches (派遣) to
// the routed department, verifies (核查) handled cases or sends some back (返工); each
// department signs (签收), starts and resolves (处置) its cases with an "after" photo. Every
// round each open case takes its next step with probability StepChance, so some cases wait
// and a few run overdue, as in a real day.
type Staff struct {
	// BaseURL is lanewatch's HTTP base URL, e.g. http://127.0.0.1:8080.
	BaseURL string
	// OperatorToken is an admin or operator bearer token: the operator's steps.
	OperatorToken string
	// Desks maps a department or contractor id to a bearer token of that role
	// (department:ID or contractor:ID): that desk's steps. A case whose department has no desk
	// waits in dispatched.
	Desks map[string]string
	// Every is the time between two rounds; StepChance (0..1, default 0.35) the chance that a
	// case takes its next step in a round.
	Every      time.Duration
	StepChance float64
	// Forget leaves about one case in seven (fixed by its id) with its department, never
	// signed or handled, so that it runs overdue like a real backlog.
	Forget bool
	// Seed makes the choices reproducible.
	Seed   uint64
	Client *http.Client
	Logger *slog.Logger

	log         *slog.Logger
	steps, errs atomic.Uint64
}

// Steps and Errors are the running totals of actions taken and refused.
func (s *Staff) Steps() uint64  { return s.steps.Load() }
func (s *Staff) Errors() uint64 { return s.errs.Load() }

// staffCase is the part of a case the staff reads.
type staffCase struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	Department string `json:"department"`
	Title      string `json:"title"`
}

// Run works a round every Every until ctx is done; it returns nil when ctx ends and an error
// when the configuration cannot work (no operator token, a bad interval).
func (s *Staff) Run(ctx context.Context) error {
	if s.Every <= 0 {
		return errors.New("simulators: staff round interval must be positive")
	}
	if s.OperatorToken == "" {
		return errors.New("simulators: staff needs an operator or admin token")
	}
	if s.StepChance <= 0 || s.StepChance > 1 {
		s.StepChance = 0.35
	}
	if s.Client == nil {
		s.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.log = s.Logger.With("component", "simulators.staff")
	rng := rand.New(rand.NewPCG(s.Seed, 0x57aff))
	t := time.NewTicker(s.Every)
	defer t.Stop()
	for {
		if err := s.round(ctx, rng); err != nil && ctx.Err() == nil {
			s.log.Warn("staff round", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// forgotten reports whether the desk never gets to case id (about one case in seven, fixed by
// the id), so that a demo has cases that run overdue.
func forgotten(id string) bool {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id)) // a hash.Hash never fails to write
	return h.Sum32()%7 == 0
}

// round takes one look at the open cases and moves some of them one step.
func (s *Staff) round(ctx context.Context, rng *rand.Rand) error {
	var list struct {
		Items []staffCase `json:"items"`
	}
	q := url.Values{"status": {"reported,registered,dispatched,signed,in_progress,resolved"}, "limit": {"200"}}
	if err := s.call(ctx, s.OperatorToken, "GET", "/api/v1/cases?"+q.Encode(), nil, "", &list); err != nil {
		return fmt.Errorf("list open cases: %w", err)
	}
	for _, c := range list.Items {
		if ctx.Err() != nil {
			return nil
		}
		if rng.Float64() >= s.StepChance {
			continue
		}
		tok, action := s.next(c, rng)
		if tok == "" {
			continue
		}
		if action.Action == "resolve" {
			// A new photo each time: after a rework the old one is refused as a duplicate.
			if err := s.upload(ctx, tok, c.ID, afterPhoto(s.steps.Load()+s.errs.Load())); err != nil {
				s.errs.Add(1)
				s.log.Debug("staff upload", "case", c.ID, "err", err)
				continue
			}
		}
		body, _ := json.Marshal(action)
		if err := s.call(ctx, tok, "POST", "/api/v1/cases/"+url.PathEscape(c.ID)+"/actions", bytes.NewReader(body), "application/json", nil); err != nil {
			// A case can change between the list and the action (a tick, an auto step).
			s.errs.Add(1)
			s.log.Debug("staff action", "case", c.ID, "action", action.Action, "err", err)
			continue
		}
		s.steps.Add(1)
	}
	return nil
}

// staffAction is the body of POST /api/v1/cases/{id}/actions.
type staffAction struct {
	Action string `json:"action"`
	Note   string `json:"note,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// next returns the token and the action that moves c on, or "" when nobody here acts on it.
func (s *Staff) next(c staffCase, rng *rand.Rand) (string, staffAction) {
	desk := s.Desks[c.Department]
	if s.Forget && forgotten(c.ID) {
		desk = ""
	}
	switch c.Status {
	case "reported":
		if rng.Float64() < 0.1 {
			return s.OperatorToken, staffAction{Action: "reject", Reason: "经核实不属于城市管理范围 / not a city-management matter"}
		}
		return s.OperatorToken, staffAction{Action: "accept", Note: "经核实，予以立案"}
	case "registered":
		return s.OperatorToken, staffAction{Action: "dispatch"}
	case "dispatched":
		return desk, staffAction{Action: "sign", Note: "已签收，安排人员前往"}
	case "signed":
		return desk, staffAction{Action: "start", Note: "人员已到场"}
	case "in_progress":
		return desk, staffAction{Action: "resolve", Note: "已清理完毕，附处置后照片"}
	case "resolved":
		if rng.Float64() < 0.15 {
			return s.OperatorToken, staffAction{Action: "rework", Note: "现场复核仍有残留，请返工"}
		}
		return s.OperatorToken, staffAction{Action: "verify", Note: "现场复核合格"}
	}
	return "", staffAction{}
}

// upload attaches photo to case id as its "after" photo.
func (s *Staff) upload(ctx context.Context, tok, id string, photo []byte) error {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.WriteField("kind", "after"); err != nil {
		return err
	}
	fw, err := w.CreateFormFile("file", "after.jpg")
	if err != nil {
		return err
	}
	if _, err := fw.Write(photo); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return s.call(ctx, tok, "POST", "/api/v1/cases/"+url.PathEscape(id)+"/attachments", &b, w.FormDataContentType(), nil)
}

// call does one API request and decodes a 2xx JSON answer into out (when not nil).
func (s *Staff) call(ctx context.Context, tok, method, path string, body io.Reader, ctype string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(s.BaseURL, "/")+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(msg)))
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// afterPhoto is a small JPEG (a clean grey street under a blue sky) for "after" uploads; n
// moves a white kerb line so that every photo is a different file.
func afterPhoto(n uint64) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for y := 0; y < 120; y++ {
		for x := 0; x < 160; x++ {
			c := color.RGBA{R: 120, G: 170, B: 225, A: 255}
			if y > 60 {
				g := uint8(110 + (y-60)/2)
				c = color.RGBA{R: g, G: g, B: g + 5, A: 255}
			}
			if y > 60 && (x+int(n%97))%40 < 3 {
				c = color.RGBA{R: 240, G: 240, B: 240, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}) // cannot fail on a bytes.Buffer
	return b.Bytes()
}
