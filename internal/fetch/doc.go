// Package fetch is lanewatch's one fetcher of URLs named by outside parties (camera
// snapshot_url, Open311 media_url): http and https only, to hosts on an allow-list whose
// patterns ("example.com", "*.example.com", optionally with ":port") are validated once, with
// a timeout, a size bound enforced while reading, a content check by magic bytes, and no
// redirects followed (a redirect is an error), and the resolved address of every connection
// checked (loopback, private and link-local addresses refused unless Options.AllowPrivate or
// listed as an IP literal), so that the server cannot be used as a proxy into the city's
// network.
//
// It knows nothing of cameras, cases or storage: callers decide what to do with the body. It
// must not contact a host that is not listed.
package fetch
