// Command gen writes the example road network of Zhongshan's city centre (中山市石岐、东区、西区、南区) (configs/roads.geojson),
// its districts (configs/districts.geojson, the same boxes as simulators/districts.go) and
// zones (configs/zones.geojson). It is deterministic: `go generate ./coverage` reproduces the
// files byte for byte.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/lanewatch/lanewatch/coverage"
)

// The four district boxes (镇街) of simulators/districts.go, in degrees.
const (
	centerLat = 22.515
	centerLon = 113.375
	boxDLat   = 0.0135
	boxDLon   = 0.0150
)

type district struct {
	id, zh, en             string
	minLat, minLon, maxLat float64
	maxLon                 float64
}

var districts = []district{
	{"xiqu", "西区街道", "West District", centerLat, centerLon - boxDLon, centerLat + boxDLat, centerLon},
	{"dongqu", "东区街道", "East District", centerLat, centerLon, centerLat + boxDLat, centerLon + boxDLon},
	{"shiqi", "石岐街道", "Shiqi Subdistrict", centerLat - boxDLat, centerLon - boxDLon, centerLat, centerLon},
	{"nanqu", "南区街道", "South District", centerLat - boxDLat, centerLon, centerLat, centerLon + boxDLon},
}

// road is a straight road in local metres: vertical roads run north-south at x = pos from
// y = from to y = to; horizontal roads run west-east at y = pos.
type road struct {
	slug, name, class string
	vertical          bool
	pos, from, to     float64
	oneway            bool
}

const ext = 1440.0 // half extent of the network in metres (the boxes are ~1,500 m)

var roads = []road{
	// Main roads.
	{"fuhua", "富华道", "main", true, -40, -ext, ext, false},
	{"xingzhong", "兴中道", "main", true, 650, -ext, ext, false},
	{"caihong", "彩虹大道", "main", true, -1150, -ext, ext, false},
	{"qiguan", "岐关西路", "main", false, 300, -ext, -40, false},
	{"boai", "博爱路", "main", false, 300, -40, ext, false},
	{"yuelai", "悦来南路", "main", false, -450, -ext, -40, false},
	{"chenggui", "城桂路", "main", false, -450, -40, ext, false},
	{"changjiang", "长江路", "main", false, 1050, -ext, ext, false},
	// Secondary roads.
	{"qingxi", "青溪路", "secondary", true, -450, 300, ext, false},
	{"qiwan", "起湾道", "secondary", true, 1100, -ext, ext, false},
	{"lianyuan", "莲员路", "secondary", false, 700, -ext, ext, false},
	{"kanghua", "康华路", "secondary", false, -120, -40, ext, true},
	{"chengnan", "城南路", "secondary", false, -1000, -ext, ext, false},
	// Branch roads.
	{"yuanfeng", "员峰路", "branch", true, -750, 300, ext, false},
	{"taiping", "太平路", "branch", true, -820, -ext, 300, false},
	{"minzu", "民族路", "branch", true, -420, -450, 300, false},
	{"yandun", "烟墩路", "branch", true, 220, 300, ext, false},
	{"maling", "马岭路", "branch", true, 350, -ext, 300, false},
	{"songyuan", "松苑路", "branch", true, 880, 300, ext, false},
	{"dongming", "东明路", "branch", true, 1330, -ext, ext, false},
	{"zhuyuan", "竹苑路", "branch", false, 1300, -ext, ext, false},
	{"huabai", "华柏路", "branch", false, 50, -40, 650, false},
	{"gongchen", "拱辰路", "branch", false, -750, -ext, -40, false},
	{"huancheng", "环城路", "branch", false, -1250, -ext, ext, false},
	{"cuijing", "翠景道", "branch", false, 900, -1150, -40, false},
	{"xingwen", "兴文路", "branch", false, 500, 650, ext, false},
}

// Alleys: the three lanes and seven alleys (石岐老城) between 太平路 and 民族路 / 民族路 and
// 富华道, and numbered lanes (一巷…) in the other districts.
type alley struct {
	slug, name string
	y, x0, x1  float64
}

var alleys = []alley{
	{"renhouli", "仁厚里", -380, -820, -420},
	{"fuzeli", "福泽里", -290, -820, -420},
	{"yingyangli", "迎阳里", -200, -820, -420},
	{"lianfengxiang", "莲峰巷", 230, -420, -40},
	{"changdixiang", "长堤巷", 160, -420, -40},
	{"shuiguanxiang", "水关巷", 90, -420, -40},
	{"damiaoxiang", "大庙巷", 20, -420, -40},
	{"yaqianxiang", "衙前巷", -60, -420, -40},
	{"sanyuanxiang", "三元巷", -260, -420, -40},
	{"tianzixiang", "天字巷", -350, -420, -40},
}

var numerals = []string{"一", "二", "三", "四", "五", "六"}

func init() {
	lanes := []struct {
		slug, base string
		x0, x1     float64
		ys         []float64
	}{
		{"qingxi", "青溪路", -1150, -450, []float64{450, 560, 820, 940, 1180}},
		{"sunwendong", "孙文东路", 220, 650, []float64{400, 520, 820, 950, 1200}},
		{"maling", "马岭路", 350, 650, []float64{-220, -320, -620, -860, -1200}},
		{"anlan", "安栏路", -1150, -820, []float64{-560, -650, -850, -1120, -1350}},
		{"qiwan", "起湾道", 1100, 1330, []float64{-300, -600, 150, 450, 820}},
	}
	for _, l := range lanes {
		for i, y := range l.ys {
			alleys = append(alleys, alley{fmt.Sprintf("%s-lane%d", l.slug, i+1), l.base + numerals[i%len(numerals)] + "巷", y, l.x0, l.x1})
		}
	}
}

// hubin is a curved lakeside road (岐江路) bulging south-west from 长江路 to 彩虹大道:
// a quarter circle sampled every 5 degrees.
func hubin() [][2]float64 {
	var pts [][2]float64
	cx, cy, r := -1150.0, 1050.0, 250.0
	for a := 180.0; a <= 270.0; a += 5 {
		rad := a * math.Pi / 180
		pts = append(pts, [2]float64{cx + r*math.Cos(rad), cy + r*math.Sin(rad)})
	}
	return pts
}

type feature struct {
	Type       string         `json:"type"`
	Properties map[string]any `json:"properties"`
	Geometry   geometry       `json:"geometry"`
}

type geometry struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

func main() {
	out := flag.String("out", "configs", "directory to write roads.geojson, districts.geojson and zones.geojson to")
	flag.Parse()
	proj := coverage.NewProjection(centerLat, centerLon)
	ll := func(x, y float64) [2]float64 {
		lat, lon := proj.Inverse(x, y)
		return [2]float64{round7(lon), round7(lat)}
	}
	districtOf := func(x, y float64) district {
		lat, lon := proj.Inverse(x, y)
		for _, d := range districts {
			if lat >= d.minLat && lat < d.maxLat && lon >= d.minLon && lon < d.maxLon {
				return d
			}
		}
		log.Fatalf("point %.0f,%.0f is outside every district", x, y)
		return district{}
	}
	zones := []struct {
		name           string
		x0, y0, x1, y1 float64
	}{
		{"central", -700, -700, 700, 700},
		{"laocheng", -830, -460, -30, 310},
	}
	zonesOf := func(x, y float64) []string {
		zs := []string{}
		for _, z := range zones {
			if x >= z.x0 && x <= z.x1 && y >= z.y0 && y <= z.y1 {
				zs = append(zs, z.name)
			}
		}
		return zs
	}
	width := map[string]float64{"main": 20, "secondary": 12, "branch": 8, "alley": 3.5}
	deadline := map[string]string{"main": "09:00", "secondary": "11:00"}

	var feats []feature
	emit := func(id, name, class string, oneway bool, pts [][2]float64) {
		// District, contractor and zones from the midpoint along the line.
		mx, my := midpoint(pts)
		d := districtOf(mx, my)
		contractor := "lvcheng"
		if d.id == "shiqi" || d.id == "nanqu" {
			contractor = "jieyuan"
		}
		coords := make([][2]float64, len(pts))
		for i, p := range pts {
			coords[i] = ll(p[0], p[1])
		}
		props := map[string]any{"id": id, "name": name, "class": class, "width_m": width[class],
			"district": d.id, "contractor": contractor, "zones": zonesOf(mx, my)}
		if dl, ok := deadline[class]; ok {
			props["plan_deadline"] = dl
		}
		if oneway {
			props["oneway"] = true
		}
		if class == "main" && (name == "岐关西路" || name == "富华道") {
			props["width_m"] = 24.0
		}
		feats = append(feats, feature{Type: "Feature", Properties: props, Geometry: geometry{Type: "LineString", Coordinates: coords}})
	}

	// Straight roads, cut at every crossing road and at district boundaries.
	for _, r := range roads {
		cuts := []float64{r.from, r.to, 0}
		for _, o := range roads {
			if o.vertical == r.vertical {
				continue
			}
			if o.pos > r.from && o.pos < r.to && r.pos >= o.from && r.pos <= o.to {
				cuts = append(cuts, o.pos)
			}
		}
		for _, a := range alleys {
			if r.vertical && a.y > r.from && a.y < r.to && (r.pos == a.x0 || r.pos == a.x1) {
				cuts = append(cuts, a.y)
			}
		}
		cuts = uniq(cuts, r.from, r.to)
		for i := 0; i+1 < len(cuts); i++ {
			a, b := cuts[i], cuts[i+1]
			var pts [][2]float64
			if r.vertical {
				pts = [][2]float64{{r.pos, a}, {r.pos, b}}
			} else {
				pts = [][2]float64{{a, r.pos}, {b, r.pos}}
			}
			emit(fmt.Sprintf("%s-%02d", r.slug, i+1), r.name, r.class, r.oneway, pts)
		}
	}
	for _, a := range alleys {
		cuts := []float64{a.x0, a.x1}
		for _, o := range roads {
			if o.vertical && o.pos > a.x0 && o.pos < a.x1 && a.y >= o.from && a.y <= o.to {
				cuts = append(cuts, o.pos)
			}
		}
		cuts = uniq(cuts, a.x0, a.x1)
		for i := 0; i+1 < len(cuts); i++ {
			emit(fmt.Sprintf("%s-%02d", a.slug, i+1), a.name, "alley", false, [][2]float64{{cuts[i], a.y}, {cuts[i+1], a.y}})
		}
	}
	arc := hubin()
	third := len(arc) / 3
	emit("qijiang-01", "岐江路", "secondary", false, arc[:third+1])
	emit("qijiang-02", "岐江路", "secondary", false, arc[third:2*third+1])
	emit("qijiang-03", "岐江路", "secondary", false, arc[2*third:])

	write(filepath.Join(*out, "roads.geojson"), feats)

	var dfeats []feature
	for _, d := range districts {
		ring := [][2]float64{{d.minLon, d.minLat}, {d.maxLon, d.minLat}, {d.maxLon, d.maxLat}, {d.minLon, d.maxLat}, {d.minLon, d.minLat}}
		for i := range ring {
			ring[i] = [2]float64{round7(ring[i][0]), round7(ring[i][1])}
		}
		dfeats = append(dfeats, feature{Type: "Feature", Properties: map[string]any{"id": d.id, "name_zh": d.zh, "name_en": d.en},
			Geometry: geometry{Type: "Polygon", Coordinates: [][][2]float64{ring}}})
	}
	write(filepath.Join(*out, "districts.geojson"), dfeats)

	zoneNames := map[string][2]string{"central": {"中心城区", "Central zone"}, "laocheng": {"石岐老城", "Shiqi Old Town"}}
	var zfeats []feature
	for _, z := range zones {
		ring := [][2]float64{ll(z.x0, z.y0), ll(z.x1, z.y0), ll(z.x1, z.y1), ll(z.x0, z.y1), ll(z.x0, z.y0)}
		zfeats = append(zfeats, feature{Type: "Feature", Properties: map[string]any{"id": z.name, "name_zh": zoneNames[z.name][0], "name_en": zoneNames[z.name][1]},
			Geometry: geometry{Type: "Polygon", Coordinates: [][][2]float64{ring}}})
	}
	write(filepath.Join(*out, "zones.geojson"), zfeats)
	log.Printf("wrote %d road segments, %d districts, %d zones", len(feats), len(dfeats), len(zfeats))
}

func midpoint(pts [][2]float64) (float64, float64) {
	var total float64
	for i := 1; i < len(pts); i++ {
		total += math.Hypot(pts[i][0]-pts[i-1][0], pts[i][1]-pts[i-1][1])
	}
	half := total / 2
	for i := 1; i < len(pts); i++ {
		l := math.Hypot(pts[i][0]-pts[i-1][0], pts[i][1]-pts[i-1][1])
		if half <= l {
			f := half / l
			return pts[i-1][0] + f*(pts[i][0]-pts[i-1][0]), pts[i-1][1] + f*(pts[i][1]-pts[i-1][1])
		}
		half -= l
	}
	return pts[0][0], pts[0][1]
}

func uniq(cuts []float64, lo, hi float64) []float64 {
	sort.Float64s(cuts)
	var out []float64
	for _, c := range cuts {
		if c < lo || c > hi {
			continue
		}
		if len(out) == 0 || c-out[len(out)-1] > 1 {
			out = append(out, c)
		}
	}
	return out
}

func round7(v float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', 7, 64), 64)
	return f
}

// write writes one feature per line, so diffs stay readable.
func write(path string, feats []feature) {
	var b bytes.Buffer
	b.WriteString("{\"type\": \"FeatureCollection\", \"features\": [\n")
	for i, f := range feats {
		line, err := json.Marshal(f)
		if err != nil {
			log.Fatal(err)
		}
		b.Write(line)
		if i < len(feats)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]}\n")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
