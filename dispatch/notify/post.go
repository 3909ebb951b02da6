package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// PostJSON posts body as JSON to url with the idempotency key (header Idempotency-Key) and an
// optional bearer token, and returns the response body (at most 64 KiB). A transport error is
// retryable; a non-2xx status is an error, retryable as Retryable says. Channel adapters that
// speak a JSON-over-HTTP gateway share it; name prefixes their errors.
func PostJSON(ctx context.Context, client *http.Client, name, url, token, key string, body any) (data []byte, retry bool, err error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", name, err)
	}
	defer resp.Body.Close()
	data, _ = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return data, Retryable(resp.StatusCode), fmt.Errorf("%s: %s answered %d: %.200s", name, url, resp.StatusCode, data)
	}
	return data, false, nil
}
