// Package web holds the operator console: plain HTML, CSS and JavaScript modules (no build step)
// embedded into the binary with go:embed, served by package api at "/" (see api.Console).
//
// It owns the console's assets and their browser tests (chromedp against Debian's chromium,
// driving a whole lanewatch started in-process). It must not import gin or any service package:
// the console talks to lanewatch only through the public HTTP API, with the user's bearer token.
// The pages must work without internet access (no CDN, no outside map tiles) and must never put
// user data into HTML markup (text nodes only), so that the strict Content-Security-Policy of the
// console routes holds.
package web
