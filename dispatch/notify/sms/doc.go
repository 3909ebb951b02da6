// Package sms sends notifications through a generic HTTP JSON SMS gateway: POST {url} with
// {"to", "template", "content", "params", "request_id"} and an optional bearer token; a 2xx
// answer whose JSON body (if any) has no non-zero "code"/false "ok" is success. It must not
// know cases: it renders the message's variables with its templates.
package sms
