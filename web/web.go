package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// Assets returns the console's files: index.html at the root, app.css, js/*.js.
func Assets() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// fs.Sub fails only on an invalid path; "static" is a constant.
		panic(err)
	}
	return sub
}
