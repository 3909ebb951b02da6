package influx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// v1 talks InfluxQL to the v1 /query API, which InfluxDB 1.x serves with its default
// configuration, 2.x through its v1 compatibility API (DBRP mapping; 2.x maps every bucket
// virtually) and 3.x. Flux is not used: 1.8 disables it by default and 3.x does not serve it.
type v1 struct {
	url   string
	token string
	db    string
	rp    string
	http  *http.Client

	mu     sync.Mutex
	fields map[string]map[string]string // measurement -> field key -> type, from SHOW FIELD KEYS
}

// newV1 returns a /query client of the bucket: "db/rp" (1.x) or a bucket name (2.x, 3.x).
func newV1(baseURL, token, bucket string, hc *http.Client) *v1 {
	db, rp := splitBucket(bucket)
	return &v1{url: strings.TrimRight(baseURL, "/"), token: token, db: db, rp: rp, http: hc,
		fields: map[string]map[string]string{}}
}

// splitBucket splits "db/rp" into database and retention policy (empty: the default one).
func splitBucket(bucket string) (db, rp string) {
	db, rp, _ = strings.Cut(bucket, "/")
	return db, rp
}

// quoteIdent quotes s as an InfluxQL identifier.
func quoteIdent(s string) string {
	return `"` + identEscaper.Replace(s) + `"`
}

// quoteString quotes s as an InfluxQL string literal.
func quoteString(s string) string {
	return `'` + stringEscaper.Replace(s) + `'`
}

// InfluxQL's scanner knows the escapes \\, \", \' and \n in quoted identifiers and strings; a
// raw newline ends the literal.
var (
	identEscaper  = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	stringEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`)
)

// timeLit is t as an InfluxQL time literal.
func timeLit(t time.Time) string { return "'" + t.UTC().Format(time.RFC3339Nano) + "'" }

// v1Series is one series of a /query result.
type v1Series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

type v1Response struct {
	Results []struct {
		Series []v1Series `json:"series"`
		Error  string     `json:"error"`
	} `json:"results"`
	Error string `json:"error"`
}

// rows is a streaming result of one statement (chunked): Next decodes chunk after chunk.
type rows struct {
	body   io.ReadCloser
	dec    *json.Decoder
	series []v1Series
	si, ri int
}

// queryError is an error the server reported for a statement.
type queryError struct {
	status int
	msg    string
}

func (e *queryError) Error() string {
	if e.status != 0 {
		return fmt.Sprintf("influxql: %d %s: %s", e.status, http.StatusText(e.status), e.msg)
	}
	return "influxql: " + e.msg
}

// open runs one InfluxQL statement with chunked results.
func (c *v1) open(ctx context.Context, q string) (*rows, error) {
	v := url.Values{"q": {q}, "db": {c.db}, "epoch": {"ns"}, "chunked": {"true"}, "chunk_size": {"5000"}}
	if c.rp != "" {
		v.Set("rp", c.rp)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/query", strings.NewReader(v.Encode()))
	if err != nil {
		return nil, fmt.Errorf("influxql: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Token "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("influxql: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		msg := strings.TrimSpace(string(b))
		var r v1Response
		if json.Unmarshal(b, &r) == nil && r.Error != "" {
			msg = r.Error
		} else if m := (struct {
			Message string `json:"message"`
		}{}); json.Unmarshal(b, &m) == nil && m.Message != "" {
			msg = m.Message
		}
		return nil, &queryError{status: resp.StatusCode, msg: msg}
	}
	d := json.NewDecoder(resp.Body)
	d.UseNumber()
	return &rows{body: resp.Body, dec: d}, nil
}

// Next returns the next row and the series it belongs to; ok is false at the end or on error.
func (r *rows) Next() (*v1Series, []any, error) {
	for {
		if r.si < len(r.series) {
			s := &r.series[r.si]
			if r.ri < len(s.Values) {
				row := s.Values[r.ri]
				r.ri++
				return s, row, nil
			}
			r.si, r.ri = r.si+1, 0
			continue
		}
		var chunk v1Response
		if err := r.dec.Decode(&chunk); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, nil, io.EOF
			}
			return nil, nil, fmt.Errorf("influxql: decode: %w", err)
		}
		if chunk.Error != "" {
			return nil, nil, &queryError{msg: chunk.Error}
		}
		r.series, r.si, r.ri = nil, 0, 0
		for _, res := range chunk.Results {
			if res.Error != "" {
				return nil, nil, &queryError{msg: res.Error}
			}
			r.series = append(r.series, res.Series...)
		}
	}
}

// Close releases the response.
func (r *rows) Close() { r.body.Close() }

// all runs q and returns every row.
func (c *v1) all(ctx context.Context, q string, fn func(s *v1Series, row []any) error) error {
	rs, err := c.open(ctx, q)
	if err != nil {
		return err
	}
	defer rs.Close()
	for {
		s, row, err := rs.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(s, row); err != nil {
			return err
		}
	}
}

// fieldTypes returns the field keys of measurement and their types (float, integer, string,
// boolean), so numbers are read back as the type they were written with. The answer is kept
// until a column it does not know turns up (refresh).
func (c *v1) fieldTypes(ctx context.Context, measurement string, refresh bool) (map[string]string, error) {
	c.mu.Lock()
	ft, ok := c.fields[measurement]
	c.mu.Unlock()
	if ok && !refresh {
		return ft, nil
	}
	ft = map[string]string{}
	err := c.all(ctx, "SHOW FIELD KEYS FROM "+quoteIdent(measurement), func(s *v1Series, row []any) error {
		if len(row) >= 2 {
			k, _ := row[0].(string)
			t, _ := row[1].(string)
			if prev, dup := ft[k]; !dup || prev == "integer" {
				ft[k] = t // a key with two types reads as the other one
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.fields[measurement] = ft
	c.mu.Unlock()
	return ft, nil
}

// value converts a JSON value of a field of type typ.
func value(v any, typ string) any {
	n, ok := v.(json.Number)
	if !ok {
		return v
	}
	if typ == "integer" || typ == "unsigned" {
		if i, err := n.Int64(); err == nil {
			return i
		}
	}
	f, _ := n.Float64()
	return f
}

// rowTime reads the time column (epoch=ns).
func rowTime(v any) time.Time {
	n, _ := v.(json.Number)
	ns, err := n.Int64()
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
