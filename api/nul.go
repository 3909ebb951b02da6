package api

import (
	"bytes"
	"io"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// PostgreSQL refuses a NUL byte in text (SQLite keeps it), so a NUL anywhere in a request's text
// is bad input, refused with 400 naming the field before it reaches the store.

// nulField returns the JSON path of the first string in v (a decoded body) that holds a NUL
// byte, or "".
func nulField(v any) string {
	return nulIn(reflect.ValueOf(v), "")
}

func nulIn(v reflect.Value, path string) string {
	join := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ""
		}
		return nulIn(v.Elem(), path)
	case reflect.String:
		if strings.IndexByte(v.String(), 0) >= 0 {
			return path
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if f.Anonymous && f.Tag.Get("json") == "" {
				if p := nulIn(v.Field(i), path); p != "" {
					return p
				}
				continue
			}
			if p := nulIn(v.Field(i), join(name)); p != "" {
				return p
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			k := it.Key()
			name := ""
			if k.Kind() == reflect.String {
				name = k.String()
				if strings.IndexByte(name, 0) >= 0 {
					return join(strconv.Quote(name))
				}
			}
			if p := nulIn(it.Value(), join(name)); p != "" {
				return p
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "" // bytes, not text
		}
		for i := range v.Len() {
			if p := nulIn(v.Index(i), path+"["+strconv.Itoa(i)+"]"); p != "" {
				return p
			}
		}
	}
	return ""
}

// refuseNUL refuses a request whose path, query or URL-encoded form has a NUL byte, naming the
// parameter (JSON bodies are checked by BindJSON, field by field).
func (s *Server) refuseNUL(c *gin.Context) {
	name := ""
	for _, p := range c.Params {
		if strings.IndexByte(p.Value, 0) >= 0 {
			name = p.Key
			break
		}
	}
	if name == "" {
		name = nulParam(c.Request.URL.Query())
	}
	if name == "" && c.Request.Method == "POST" && c.ContentType() == "application/x-www-form-urlencoded" && c.Request.Body != nil {
		// Read the (already bounded) form, look, and hand the same bytes (and error) on.
		b, err := io.ReadAll(c.Request.Body)
		rest := io.Reader(bytes.NewReader(b))
		if err != nil {
			rest = io.MultiReader(rest, errReader{err})
		}
		c.Request.Body = readCloser{rest, c.Request.Body}
		if form, perr := url.ParseQuery(string(b)); perr == nil {
			name = nulParam(form)
		}
	}
	if name == "" {
		c.Next()
		return
	}
	msg := name + ": contains a NUL byte"
	if strings.HasPrefix(c.Request.URL.Path, "/open311/") {
		_, format, _ := splitFormat(c.Param("file"))
		s.o311Fail(c, format, 400, msg)
		return
	}
	s.fail(c, invalid("%s", msg))
}

func nulParam(vs url.Values) string {
	for k, list := range vs {
		if strings.IndexByte(k, 0) >= 0 {
			return strconv.Quote(k)
		}
		for _, v := range list {
			if strings.IndexByte(v, 0) >= 0 {
				return k
			}
		}
	}
	return ""
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

type readCloser struct {
	io.Reader
	c io.Closer
}

func (r readCloser) Close() error { return r.c.Close() }

// errNUL is the error of a JSON body with a NUL byte in the field at path.
func errNUL(path string) error {
	if path == "" {
		return invalid("request body: contains a NUL byte")
	}
	return invalid("%s: contains a NUL byte", path)
}
