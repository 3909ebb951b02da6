package influx

import (
	"math"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
)

var ts = time.Date(2024, 5, 1, 8, 30, 0, 123456789, time.UTC) // 1714552200123456789

func TestAppendTelemetry(t *testing.T) {
	dev := DeviceTags{ID: "SW-001", Type: "sweeper", District: "xuhui", Contractor: "acme"}
	tests := []struct {
		name string
		dev  DeviceTags
		tel  lanewatch.Telemetry
		seg  string
		want string
	}{
		{
			name: "required only",
			dev:  dev,
			tel:  lanewatch.Telemetry{TS: ts, Lat: 31.2304, Lon: 121.4737},
			want: "vehicle_telemetry,device=SW-001,type=sweeper,district=xuhui,contractor=acme lat=31.2304,lon=121.4737 1714552200123456789\n",
		},
		{
			name: "all fields, extras and segment",
			dev:  dev,
			tel: lanewatch.Telemetry{
				TS: ts, Lat: 31, Lon: -121.5, SpeedKmh: 12.5, Heading: 270, BrushOn: true, WaterOn: false,
				WaterLevelPct: 80, FuelPct: 55.25, OdometerKm: 123456.7,
				Has: lanewatch.FieldSpeed | lanewatch.FieldHeading | lanewatch.FieldBrush | lanewatch.FieldWater |
					lanewatch.FieldWaterLevel | lanewatch.FieldFuel | lanewatch.FieldOdometer,
				Extra: []lanewatch.ExtraField{{Name: "pump_bar", Num: 2.5}, {Name: "door_open", Bool: true, IsBool: true}},
			},
			seg:  "seg-42",
			want: "vehicle_telemetry,device=SW-001,type=sweeper,district=xuhui,contractor=acme lat=31,lon=-121.5,speed_kmh=12.5,heading=270,brush_on=t,water_on=f,water_level_pct=80,fuel_pct=55.25,odometer_km=123456.7,pump_bar=2.5,door_open=t,segment=\"seg-42\" 1714552200123456789\n",
		},
		{
			name: "empty tags skipped, unusable extras skipped",
			dev:  DeviceTags{ID: "W1"},
			tel: lanewatch.Telemetry{TS: ts, Lat: 1e-7, Lon: 2, Has: lanewatch.FieldSpeed, SpeedKmh: math.NaN(),
				Extra: []lanewatch.ExtraField{{Name: "", Num: 1}, {Name: "time", Num: 2}, {Name: "big", Num: 1e22}}},
			want: "vehicle_telemetry,device=W1 lat=1e-07,lon=2,big=1e+22 1714552200123456789\n",
		},
		{
			name: "escaping",
			dev:  DeviceTags{ID: "a b", Type: "x,y", District: "k=v", Contractor: `trail\`},
			tel: lanewatch.Telemetry{TS: ts, Lat: 1, Lon: 2,
				Extra: []lanewatch.ExtraField{{Name: "odd key,=x", Num: 1}}},
			seg:  "say \"hi\" \\ there\nnext",
			want: `vehicle_telemetry,device=a\ b,type=x\,y,district=k\=v,contractor=trail\\ lat=1,lon=2,odd\ key\,\=x=1,segment="say \"hi\" \\ there\nnext" 1714552200123456789` + "\n",
		},
		{
			name: "zero time omits the timestamp",
			dev:  DeviceTags{ID: "d"},
			tel:  lanewatch.Telemetry{Lat: 1, Lon: 2},
			want: "vehicle_telemetry,device=d lat=1,lon=2\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("keep\n")
			got := AppendTelemetry(prefix, tt.dev, &tt.tel, tt.seg)
			if string(got) != "keep\n"+tt.want {
				t.Errorf("got\n%s\nwant\n%s", got[5:], tt.want)
			}
		})
	}
}

func TestAppendEvents(t *testing.T) {
	dev := DeviceTags{ID: "CAM-7", Type: "camera", District: "xuhui"}
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{
			name: "camera with bbox and location",
			got: AppendCamera(nil, dev, &lanewatch.CameraEvent{EventID: "e-1", TS: ts, Type: "garbage_overflow",
				Confidence: 0.91, BBox: [4]float64{0.1, 0.2, 0.3, 0.4}, HasBBox: true, Lat: 31.1, Lon: 121.2, HasLocation: true}),
			want: `camera_event,device=CAM-7,type=garbage_overflow,district=xuhui event_id="e-1",confidence=0.91,bbox_x=0.1,bbox_y=0.2,bbox_w=0.3,bbox_h=0.4,lat=31.1,lon=121.2 1714552200123456789` + "\n",
		},
		{
			name: "camera minimal",
			got:  AppendCamera(nil, DeviceTags{ID: "c"}, &lanewatch.CameraEvent{EventID: "e\"2", TS: ts, Type: "litter", Confidence: 1}),
			want: `camera_event,device=c,type=litter event_id="e\"2",confidence=1 1714552200123456789` + "\n",
		},
		{
			name: "plaque scan",
			got: AppendPlaqueScan(nil, DeviceTags{ID: "PQ-1", District: "jingan"},
				&lanewatch.PlaqueScan{ScanID: "s-9", TS: ts, Action: "report", Category: "0101"}),
			want: `plaque_scan,device=PQ-1,action=report,category=0101,district=jingan scan_id="s-9",count=1i 1714552200123456789` + "\n",
		},
		{
			name: "case event",
			got: AppendCaseEvent(nil, &lanewatch.Case{ID: "C-1", Category: "0304", Source: "rule", District: "xuhui",
				Status: lanewatch.StatusDispatched}, "dispatch", ts),
			want: `case_event,category=0304,source=rule,district=xuhui,action=dispatch case_id="C-1",status="dispatched" 1714552200123456789` + "\n",
		},
		{
			name: "generic point with every field type",
			got: AppendPoint(nil, "mechanization rate", []Tag{{"district", "xu hui"}, {"road_class", ""}, {"contractor", "acme"}},
				[]Field{FloatField("rate", 0.75), IntField("covered", -3), BoolField("final", true), StringField("basis", "length"),
					FloatField("nan", math.Inf(1)), IntField("time", 1)}, ts),
			want: `mechanization\ rate,district=xu\ hui,contractor=acme rate=0.75,covered=-3i,final=t,basis="length" 1714552200123456789` + "\n",
		},
		{
			name: "generic point without fields writes nothing",
			got:  AppendPoint([]byte("x"), "segment_coverage", []Tag{{"a", "b"}}, []Field{FloatField("v", math.NaN())}, ts),
			want: "x",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", tt.got, tt.want)
			}
		})
	}
}

func TestAppendTelemetryDoesNotAllocate(t *testing.T) {
	dev := DeviceTags{ID: "SW-001", Type: "sweeper", District: "xuhui", Contractor: "acme"}
	tel := benchTelemetry()
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendTelemetry(buf[:0], dev, &tel, "seg-1")
	})
	if allocs != 0 {
		t.Fatalf("AppendTelemetry allocates %v times per point", allocs)
	}
}

func TestChunk(t *testing.T) {
	data := []byte("a\nbb\nccc\ndddd\n")
	tests := []struct {
		off, lines, bytes int
		end, n            int
	}{
		{0, 2, 100, 5, 2},
		{0, 10, 100, 14, 4},
		{0, 10, 6, 5, 2}, // byte bound
		{5, 10, 2, 9, 1}, // a line longer than the bound still makes progress
		{9, 10, 100, 14, 1},
	}
	for _, tt := range tests {
		end, n := chunk(data, tt.off, tt.lines, tt.bytes)
		if end != tt.end || n != tt.n {
			t.Errorf("chunk(off=%d, lines=%d, bytes=%d) = %d, %d; want %d, %d", tt.off, tt.lines, tt.bytes, end, n, tt.end, tt.n)
		}
	}
}
