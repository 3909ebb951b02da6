package simulators

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/lanewatch/lanewatch"
)

// Plaque scan actions.
const (
	ActionView   = "view"
	ActionReport = "report"
)

// PlaqueReportCategories are the 门前三包 categories a simulated report uses, each with the
// descriptions citizens write.
var PlaqueReportCategories = map[string][]string{
	"0504": {"店铺把货架摆到人行道上，行人无法通行", "餐馆在门口洗菜切菜，占用人行道", "水果店在门前摆摊占道经营"},
	"0507": {"门前堆放纸箱和杂物，好几天没人清理", "店门口堆放装修材料，挡住盲道", "人行道上堆着废旧家具"},
	"0101": {"门前垃圾桶满溢，垃圾散落一地", "店门口有几袋生活垃圾没人收", "路边暴露垃圾，气味很大"},
	"9101": {"门前三包责任区卫生没有落实", "商户门前地面油污一直没有清扫", "责任区绿化带里塞满了杂物"},
}

// plaqueCategories is the key order of PlaqueReportCategories, for deterministic draws.
var plaqueCategories = []string{"0504", "0507", "0101", "9101"}

var reporterNames = []string{"林志强", "陈美华", "黄建国", "郑丽娟", "王小明", "张秀英", "刘伟", "吴丹", "李娜", "何俊杰", "杨帆", "周晓燕"}

// Plaque timing, in simulated time.
const plaqueScanMean = 90 * time.Second // mean time between scans of one plaque

// plaqueReportShare is the share of scans that are reports.
const plaqueReportShare = 0.2

// PlaqueConfig configures a PlaqueSim.
type PlaqueConfig struct {
	ID       string
	District string
	Seed     uint64
	// Index is the plaque's position among the fleet's plaques; with Seed it determines every
	// payload.
	Index int
	// Step is the simulated time between two calls of Next; default DefaultStep.
	Step time.Duration
	// Photos adds a tiny JPEG, base64, as "photo" to every report.
	Photos bool
	// RunID, when set, prefixes every scan_id so that runs do not reuse ids.
	RunID string
	// WarmStart makes the first tick a report scan, so a demo has a plaque report at once.
	WarmStart bool
}

// ScanPayload is the plaque scan object of SPEC.md section 3.
type ScanPayload struct {
	ScanID      string              `json:"scan_id"`
	TS          string              `json:"ts"`
	Action      string              `json:"action"`
	Category    string              `json:"category,omitempty"`
	Description string              `json:"description,omitempty"`
	Reporter    *lanewatch.Reporter `json:"reporter,omitempty"`
	Photo       string              `json:"photo,omitempty"`
}

// PlaqueSim simulates the scanning app's backend relaying the scans of one responsibility
// plaque: occasional scans, mostly views, sometimes a report with a 门前三包 category, a
// description in Chinese and the reporter's name and phone. It publishes to
// plaques/{id}/scans and is not safe for concurrent use.
type PlaqueSim struct {
	cfg      PlaqueConfig
	topic    string
	idPrefix string
	rng      *rand.Rand
	seq      int
	warm     bool // the next scan is a report, at once (WarmStart)
}

// NewPlaqueSim returns the simulator of one plaque.
func NewPlaqueSim(cfg PlaqueConfig) *PlaqueSim {
	if cfg.Step <= 0 {
		cfg.Step = DefaultStep
	}
	p := &PlaqueSim{
		cfg:      cfg,
		topic:    "plaques/" + cfg.ID + "/scans",
		idPrefix: cfg.ID + "-",
		rng:      newRand(cfg.Seed, streamPlaque, cfg.Index),
		warm:     cfg.WarmStart,
	}
	if cfg.RunID != "" {
		p.idPrefix = cfg.RunID + "-" + p.idPrefix
	}
	return p
}

// Topic is the topic the plaque's scans are published to.
func (p *PlaqueSim) Topic() string { return p.topic }

// Next advances the plaque by one step and returns a scan, or a nil payload when nobody
// scanned it.
func (p *PlaqueSim) Next(now time.Time) (string, []byte) {
	r := p.rng
	warm := p.warm
	p.warm = false
	if !warm && r.Float64() >= p.cfg.Step.Seconds()/plaqueScanMean.Seconds() {
		return p.topic, nil
	}
	p.seq++
	s := ScanPayload{ScanID: fmt.Sprintf("%s%06d", p.idPrefix, p.seq), TS: formatTS(now), Action: ActionView}
	if warm || r.Float64() < plaqueReportShare {
		s.Action = ActionReport
		s.Category = plaqueCategories[r.IntN(len(plaqueCategories))]
		ds := PlaqueReportCategories[s.Category]
		s.Description = ds[r.IntN(len(ds))]
		s.Reporter = &lanewatch.Reporter{Name: reporterNames[r.IntN(len(reporterNames))], Phone: phone(r)}
		if p.cfg.Photos {
			s.Photo = tinyJPEG
		}
	}
	b, _ := json.Marshal(s)
	return p.topic, b
}

// phone returns a mainland mobile number: 1, a carrier digit, nine more digits.
func phone(r *rand.Rand) string {
	carriers := "35789"
	return fmt.Sprintf("1%c%09d", carriers[r.IntN(len(carriers))], r.IntN(1_000_000_000))
}
