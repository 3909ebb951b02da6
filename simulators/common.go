package simulators

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"time"
)

// Generator produces the traffic of one simulated device. Fleet calls Next once per tick; a
// nil payload means the device has nothing to publish at that tick (it is buffering, silent,
// or idle).
type Generator interface {
	Next(now time.Time) (topic string, payload []byte)
}

var (
	_ Generator = (*VehicleSim)(nil)
	_ Generator = (*CameraSim)(nil)
	_ Generator = (*PlaqueSim)(nil)
)

// DefaultStep is the simulated time between two ticks of a generator when its config gives
// none, and the default Fleet rate.
const DefaultStep = 2 * time.Second

// Streams of the per-device PCG, so that vehicle 0, camera 0 and plaque 0 differ.
const (
	streamVehicle uint64 = 1 << 40
	streamCamera  uint64 = 2 << 40
	streamPlaque  uint64 = 3 << 40
	streamCitizen uint64 = 4 << 40
)

// newRand returns the PCG-backed source of one device: it depends only on the seed, the
// device kind and the device's index among devices of that kind.
func newRand(seed, stream uint64, index int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream|uint64(index)))
}

// TimeFormat is the layout of every simulated "ts": RFC 3339 with milliseconds, in UTC.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// formatTS formats t as a payload timestamp.
func formatTS(t time.Time) string { return t.UTC().Format(TimeFormat) }

// steps converts a simulated duration into a whole number of ticks of length step (at least 1).
func steps(d, step time.Duration) int {
	n := int((d + step/2) / step)
	return max(n, 1)
}

// between returns a uniform float in [lo, hi).
func between(r *rand.Rand, lo, hi float64) float64 { return lo + r.Float64()*(hi-lo) }

// betweenInt returns a uniform int in [lo, hi].
func betweenInt(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }

// clamp limits x to [lo, hi].
func clamp(x, lo, hi float64) float64 { return min(max(x, lo), hi) }

// tinyJPEG is a valid 16×16 JPEG (a grey street-coloured square), base64-encoded, for
// payloads that carry a snapshot or photo.
var tinyJPEG = func() string {
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	for y := range 16 {
		for x := range 16 {
			img.SetGray(x, y, color.Gray{Y: uint8(96 + 8*((x+y)%4))})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 50}); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}()

// TinyJPEG returns the base64 JPEG used for snapshots and photos.
func TinyJPEG() string { return tinyJPEG }
