package scenario

import (
	"fmt"
	"time"
)

// Local is the time zone of the families (Asia/Shanghai, fixed).
var Local = time.FixedZone("CST", 8*3600)

// start is 06:00 local on the test day.
var start = time.Date(2025, 6, 2, 6, 0, 0, 0, Local)

// block is the grid's block length in metres.
const block = 120.0

// town is a 4 × 4 block grid (5 × 5 nodes, 120 m blocks, horizontal roads main, vertical
// secondary) with a depot road running west from the south-west corner.
func town() Net {
	var n Net
	n.Grid(4, 4, block, 0, 0, "main")
	for i := range n.Roads {
		if n.Roads[i].ID[0] == 'v' {
			n.Roads[i].Class = "secondary"
		}
	}
	n.Add("depot", "branch", false, [2]float64{-200, 0}, [2]float64{0, 0})
	return n
}

// townRoute is the drive through the town: in from the depot with the brush up, a snake of
// 14 blocks with left and right turns and straight-on crossings, brush down from the first
// junction to the last.
func townRoute() []Leg {
	legs := []Leg{{Road: "depot", From: 0, To: -1}}
	legs = append(legs, GridRoute([2]int{0, 0}, [2]int{1, 0}, [2]int{2, 0}, [2]int{3, 0}, [2]int{4, 0}, [2]int{4, 1}, [2]int{4, 2},
		[2]int{3, 2}, [2]int{2, 2}, [2]int{2, 3}, [2]int{2, 4}, [2]int{1, 4}, [2]int{0, 4}, [2]int{0, 3}, [2]int{0, 2})...)
	// Back out towards the depot with the brush up.
	legs = append(legs, GridRoute([2]int{0, 2}, [2]int{0, 1})...)
	return legs
}

// townVehicle drives townRoute at 9 km/h with the brush down from the first junction (after
// the depot road) to the end of the snake.
func townVehicle(every time.Duration, noise Noise, seed uint64) Vehicle {
	v := Vehicle{ID: "sw-1", Legs: townRoute(), Start: start, SpeedKmh: 9, Every: every, Noise: noise, Seed: seed}
	on, off := 200/2.5, (200+14*block)/2.5 // seconds at 2.5 m/s
	v.Working = func(since time.Duration) bool { s := since.Seconds(); return s >= on && s < off }
	return v
}

// Families returns the ground-truth families of DOMAIN 6 (issue 16).
func Families() []Family {
	var fs []Family
	// GPS noise, independent and correlated (30 s), at 1 Hz.
	for _, sigma := range []float64{0, 3, 8, 15} {
		for _, corr := range []time.Duration{0, 30 * time.Second} {
			kind := "indep"
			if corr > 0 {
				kind = "corr"
			}
			if sigma == 0 && corr > 0 {
				continue
			}
			f := Family{Name: fmt.Sprintf("noise σ%g %s", sigma, kind), Net: town(),
				Vehicles: []Vehicle{townVehicle(time.Second, Noise{Sigma: sigma, CorrTime: corr}, uint64(10+sigma))}}
			if sigma >= 15 {
				f.RadiusM, f.SigmaM, f.Lag = 50, 15, 20
			} else if sigma >= 8 {
				f.RadiusM, f.SigmaM, f.Lag = 30, 8, 10
			}
			fs = append(fs, f)
		}
	}
	// Sampling intervals at σ 5 m, the brush down all the way (where the brush changes
	// between two samples 30 s apart, no one knows where within the 83 m between them: the
	// half-interval rule is tested at 1 Hz by the brush family).
	for _, every := range []int{1, 5, 15, 30} {
		v := townVehicle(time.Duration(every)*time.Second, Noise{Sigma: 5}, uint64(20+every))
		v.Working = nil
		fs = append(fs, Family{Name: fmt.Sprintf("sampling %ds σ5", every), Net: town(), Vehicles: []Vehicle{v}})
	}
	// Parallel roads: a main road and an alley 8 or 15 m north of it (reached only round the
	// back street); the vehicle drives the main road 3 m north of its centre line (towards the
	// alley) with σ 3 m, and again with drifting noise of σ 5 m.
	for _, gap := range []float64{8, 15} {
		for _, nz := range []Noise{{Sigma: 3, Bias: 3}, {Sigma: 5, CorrTime: 30 * time.Second, Bias: 3}} {
			var n Net
			n.Add("main-1", "main", false, [2]float64{0, 0}, [2]float64{200, 0})
			n.Add("main-2", "main", false, [2]float64{200, 0}, [2]float64{400, 0})
			n.Add("main-3", "main", false, [2]float64{400, 0}, [2]float64{600, 0})
			n.Add("alley", "alley", false, [2]float64{100, gap}, [2]float64{500, gap})
			n.Add("link-w", "alley", false, [2]float64{100, gap}, [2]float64{100, 80})
			n.Add("link-e", "alley", false, [2]float64{500, gap}, [2]float64{500, 80})
			n.Add("back-1", "branch", false, [2]float64{0, 80}, [2]float64{100, 80})
			n.Add("back-2", "branch", false, [2]float64{100, 80}, [2]float64{500, 80})
			n.Add("back-3", "branch", false, [2]float64{500, 80}, [2]float64{600, 80})
			n.Add("side-w", "branch", false, [2]float64{0, 0}, [2]float64{0, 80})
			n.Add("side-e", "branch", false, [2]float64{600, 0}, [2]float64{600, 80})
			kind := "σ3"
			if nz.CorrTime > 0 {
				kind = "σ5 corr"
			}
			fs = append(fs, Family{Name: fmt.Sprintf("parallel %gm %s", gap, kind), Net: n, Vehicles: []Vehicle{{
				ID: "sw-1", Start: start, SpeedKmh: 9, Every: time.Second, Noise: nz, Seed: uint64(30 + gap),
				Legs: []Leg{{Road: "main-1", From: 0, To: -1}, {Road: "main-2", From: 0, To: -1}, {Road: "main-3", From: 0, To: -1}}}}})
		}
	}
	// A speedometer 6 % high and one 6 % low (the speed is not the distance driven), σ 3 m.
	for _, sc := range []float64{1.06, 0.94} {
		v := townVehicle(time.Second, Noise{Sigma: 3}, 130)
		v.SpeedScale = sc
		fs = append(fs, Family{Name: fmt.Sprintf("speed reported ×%.2f σ3", sc), Net: town(), Vehicles: []Vehicle{v}})
	}
	// Junction grid with turns at σ 5 m: straight-on streets never entered stay at 0.
	{
		v := townVehicle(time.Second, Noise{Sigma: 5}, 40)
		fs = append(fs, Family{Name: "junction grid σ5", Net: town(), Vehicles: []Vehicle{v}})
	}
	// Dual carriageway: two one-way carriageways 10 m apart, driven east then (after a
	// U-turn at the east end) west, σ 5 m.
	{
		var n Net
		n.Add("east-1", "main", true, [2]float64{0, 0}, [2]float64{300, 0})
		n.Add("east-2", "main", true, [2]float64{300, 0}, [2]float64{600, 0})
		n.Add("west-2", "main", true, [2]float64{600, 10}, [2]float64{300, 10})
		n.Add("west-1", "main", true, [2]float64{300, 10}, [2]float64{0, 10})
		n.Add("turn", "branch", false, [2]float64{600, 0}, [2]float64{600, 10})
		n.Add("cross", "branch", false, [2]float64{300, 0}, [2]float64{300, 10})
		fs = append(fs, Family{Name: "dual carriageway σ5", Net: n, Vehicles: []Vehicle{{
			ID: "sw-1", Start: start, SpeedKmh: 9, Every: time.Second, Noise: Noise{Sigma: 5}, Seed: 50,
			Legs: []Leg{{Road: "east-1", From: 0, To: -1}, {Road: "east-2", From: 0, To: 200}}}}})
		// The same carriageways, the vehicle on the westbound one only.
		fs = append(fs, Family{Name: "dual carriageway westbound σ5", Net: n, Vehicles: []Vehicle{{
			ID: "sw-1", Start: start, SpeedKmh: 9, Every: time.Second, Noise: Noise{Sigma: 5}, Seed: 51,
			Legs: []Leg{{Road: "west-2", From: 50, To: -1}, {Road: "west-1", From: 0, To: -1}}}}})
	}
	// U-turn in the middle of a segment, σ 3 m.
	{
		var n Net
		n.Add("a", "main", false, [2]float64{0, 0}, [2]float64{300, 0})
		n.Add("b", "main", false, [2]float64{300, 0}, [2]float64{600, 0})
		n.Add("c", "branch", false, [2]float64{300, 0}, [2]float64{300, 200})
		fs = append(fs, Family{Name: "u-turn mid-segment σ3", Net: n, Vehicles: []Vehicle{{
			ID: "sw-1", Start: start, SpeedKmh: 9, Every: time.Second, Noise: Noise{Sigma: 3}, Seed: 60,
			Legs: []Leg{{Road: "a", From: 0, To: -1}, {Road: "b", From: 0, To: 180}, {Road: "b", From: 180, To: 0}, {Road: "a", From: -1, To: 150}}}}})
	}
	// Two vehicles on overlapping stretches at the same time, σ 5 m.
	{
		var n Net
		n.Add("a", "main", false, [2]float64{0, 0}, [2]float64{250, 0})
		n.Add("b", "main", false, [2]float64{250, 0}, [2]float64{500, 0})
		n.Add("c", "main", false, [2]float64{500, 0}, [2]float64{750, 0})
		fs = append(fs, Family{Name: "two vehicles overlapping σ5", Net: n, Vehicles: []Vehicle{
			{ID: "sw-1", Start: start, SpeedKmh: 9, Every: time.Second, Noise: Noise{Sigma: 5}, Seed: 70,
				Legs: []Leg{{Road: "a", From: 20, To: -1}, {Road: "b", From: 0, To: 200}}},
			{ID: "sw-2", Start: start.Add(30 * time.Second), SpeedKmh: 8, Every: time.Second, Noise: Noise{Sigma: 5}, Seed: 71,
				Legs: []Leg{{Road: "c", From: 200, To: 0}, {Road: "b", From: -1, To: 100}}}}})
	}
	// Brush toggling every 20 s at 1 Hz, σ 3 m.
	{
		v := townVehicle(time.Second, Noise{Sigma: 3}, 80)
		v.Working = func(since time.Duration) bool { return int(since.Seconds()/20)%2 == 1 }
		fs = append(fs, Family{Name: "brush toggling 20s σ3", Net: town(), Vehicles: []Vehicle{v}})
	}
	// A pass across local midnight, σ 3 m.
	{
		v := townVehicle(time.Second, Noise{Sigma: 3}, 90)
		v.Start = time.Date(2025, 6, 2, 23, 55, 0, 0, Local)
		fs = append(fs, Family{Name: "across midnight σ3", Net: town(), Vehicles: []Vehicle{v}})
	}
	// An offline backlog delivered after newer points: chunks of 60 points out of order.
	fs = append(fs, Family{Name: "backlog out of order σ3", Net: town(), Chunk: 60, Reorder: []int{0, 1, 3, 4, 2, 6, 5, 8, 7},
		Vehicles: []Vehicle{townVehicle(time.Second, Noise{Sigma: 3}, 100)}})
	// Speed-band edges: 12.0 and 3.0 km/h work, 12.5 and 2.5 do not (band inclusive).
	{
		var n Net
		for i := range 4 {
			n.Add(fmt.Sprintf("s%d", i), "main", false, [2]float64{float64(i) * 150, 0}, [2]float64{float64(i+1) * 150, 0})
		}
		fs = append(fs, Family{Name: "speed-band edges σ3", Net: n, Vehicles: []Vehicle{{
			ID: "sw-1", Start: start, Every: time.Second, Noise: Noise{Sigma: 3}, Seed: 110,
			Legs: []Leg{{Road: "s0", From: 0, To: -1, SpeedKmh: 12}, {Road: "s1", From: 0, To: -1, SpeedKmh: 12.5},
				{Road: "s2", From: 0, To: -1, SpeedKmh: 3}, {Road: "s3", From: 0, To: -1, SpeedKmh: 2.5}}}}})
	}
	// Segments shorter than one sampling interval: 30 m and 45 m segments between 200 m ones,
	// sampled every 30 s at 10 km/h (83 m per interval), σ 3 m.
	{
		var n Net
		n.Add("long-1", "main", false, [2]float64{0, 0}, [2]float64{200, 0})
		n.Add("short-30", "main", false, [2]float64{200, 0}, [2]float64{230, 0})
		n.Add("short-45", "main", false, [2]float64{230, 0}, [2]float64{275, 0})
		n.Add("long-2", "main", false, [2]float64{275, 0}, [2]float64{475, 0})
		n.Add("side", "branch", false, [2]float64{230, 0}, [2]float64{230, 150})
		fs = append(fs, Family{Name: "short segments at 30s σ3", Net: n, Vehicles: []Vehicle{{
			ID: "sw-1", Start: start, SpeedKmh: 10, Every: 30 * time.Second, Noise: Noise{Sigma: 3}, Seed: 120,
			Legs: []Leg{{Road: "long-1", From: 0, To: -1}, {Road: "short-30", From: 0, To: -1}, {Road: "short-45", From: 0, To: -1}, {Road: "long-2", From: 0, To: -1}}}}})
	}
	return fs
}
