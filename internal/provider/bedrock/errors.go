package bedrock

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// DefaultRetryAfter is what a throttled client is told to wait when
// Bedrock gives no Retry-After (it usually gives none).
const DefaultRetryAfter = time.Second

// mapError reads and closes a non-2xx response. AWS names the error in the
// X-Amzn-ErrorType header ("ThrottlingException:http://..."), with
// {"message": ...} as the body.
func (c *Client) mapError(resp *http.Response) *llm.Error {
	b, _ := provider.ReadBody(resp.Body, maxErrorBody)
	resp.Body.Close()
	typ := resp.Header.Get("X-Amzn-Errortype")
	if typ == "" {
		var eb struct {
			Type string `json:"__type"`
		}
		_ = json.Unmarshal(b, &eb)
		typ = eb.Type
	}
	typ, _, _ = strings.Cut(typ, ":")
	if i := strings.LastIndex(typ, "#"); i >= 0 {
		typ = typ[i+1:]
	}
	return awsError(c.info.Name, resp, typ, errorMessage(b))
}

func errorMessage(b []byte) string {
	var eb errorBody
	if json.Unmarshal(b, &eb) != nil {
		return strings.TrimSpace(string(b))
	}
	if eb.Message != "" {
		return eb.Message
	}
	return eb.MessageUpper
}

// awsError builds the client's error for an AWS exception type. Status
// follows the exception, not only the HTTP status: quota and model-not-
// ready errors are throttling too.
func awsError(name string, resp *http.Response, typ, msg string) *llm.Error {
	status := http.StatusBadGateway
	if resp != nil {
		status = resp.StatusCode
	}
	switch strings.ToLower(strings.TrimSuffix(typ, "Exception")) {
	case "throttling", "servicequotaexceeded", "modelnotready", "toomanyrequests":
		status = http.StatusTooManyRequests
	case "validation":
		status = http.StatusBadRequest
	case "resourcenotfound":
		status = http.StatusNotFound
	case "accessdenied", "unrecognizedclient", "expiredtoken", "invalidsignature", "incompletesignature", "missingauthenticationtoken":
		status = http.StatusForbidden
	case "modeltimeout":
		status = http.StatusGatewayTimeout
	case "serviceunavailable":
		status = http.StatusServiceUnavailable
	case "internalserver", "modelerror", "modelstreamerror":
		status = http.StatusBadGateway
	}
	if typ != "" {
		msg = typ + ": " + msg
	}
	if resp == nil {
		resp = &http.Response{StatusCode: status, Header: http.Header{}}
	}
	r := *resp
	r.StatusCode = status
	e := provider.StatusError(name, &r, msg)
	if status == http.StatusTooManyRequests {
		e.Code = "rate_limit_exceeded"
		if e.RetryAfter == 0 {
			e.RetryAfter = DefaultRetryAfter
		}
	}
	if status == http.StatusGatewayTimeout {
		e.Type = llm.ErrTimeout
		e.Code = "upstream_timeout"
	}
	e.Err = fmt.Errorf("bedrock %s (status %d)", typ, resp.StatusCode)
	return e
}
