// Package webhook posts notifications as JSON to a URL (a department's own system): body
// {"key", "event", "case_id", "recipient", "text", "vars"}, header Idempotency-Key. 2xx is
// success; 408/429/5xx and network errors are retried. It must not know cases.
package webhook
