// Package wechat sends WeChat official-account template messages (模板消息): it fetches an
// access token from {base}/cgi-bin/token?grant_type=client_credential&appid=&secret= (cached
// until shortly before expires_in), then POSTs {"touser", "template_id", "url", "data"} to
// {base}/cgi-bin/message/template/send?access_token=TOKEN and reads errcode/errmsg from the
// body. Token errors (40001, 40014, 42001) drop the cached token and retry; -1 (busy) and 45009
// (quota) retry; other errcodes are permanent. It must not know cases.
package wechat
