package serverless

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/caresignal/caresignal"
)

// The adapter between API Gateway's proxy events and net/http is written
// here rather than taken from a library: it is about 150 lines, and the
// one library for it (awslabs/aws-lambda-go-api-proxy) brings adapters for
// several web frameworks and is not among the modules this project's
// builds have.

// Invoke answers one API Gateway proxy event, REST API (v1, also the
// HTTP API's payload format 1.0) or HTTP API (payload format 2.0), with
// the server's handler, and returns the gateway's response event. It
// makes Function a lambda.Handler. An event of another kind is an error
// (the invocation fails; the gateway answers 502).
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var probe struct {
		Version    string `json:"version"`
		HTTPMethod string `json:"httpMethod"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, caresignal.Invalidf("event", "the event is not a JSON object: %v", err)
	}
	switch {
	case probe.Version == "2.0":
		var e events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(payload, &e); err != nil {
			return nil, caresignal.Invalidf("event", "reading the HTTP API (v2) event: %v", err)
		}
		r, err := requestV2(ctx, &e)
		if err != nil {
			return nil, err
		}
		return json.Marshal(responseV2(f.serve(r)))
	case probe.HTTPMethod != "":
		var e events.APIGatewayProxyRequest
		if err := json.Unmarshal(payload, &e); err != nil {
			return nil, caresignal.Invalidf("event", "reading the REST API (v1) event: %v", err)
		}
		r, err := requestV1(ctx, &e)
		if err != nil {
			return nil, err
		}
		return json.Marshal(responseV1(f.serve(r)))
	}
	return nil, caresignal.Invalidf("event", "the event is neither an API Gateway REST API (v1) proxy event (no httpMethod) nor an HTTP API (v2) one (version is %q, not 2.0)", probe.Version)
}

// serve records the handler's answer to r, then flushes the log.
func (f *Function) serve(r *http.Request) *recorder {
	rec := &recorder{header: http.Header{}}
	f.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec
}

// requestV1 is the request a REST API (v1) event describes.
func requestV1(ctx context.Context, e *events.APIGatewayProxyRequest) (*http.Request, error) {
	body, err := eventBody(e.Body, e.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if len(e.MultiValueQueryStringParameters) > 0 {
		for k, vs := range e.MultiValueQueryStringParameters {
			q[k] = append(q[k], vs...)
		}
	} else {
		for k, v := range e.QueryStringParameters {
			q.Set(k, v)
		}
	}
	// Path is the resource's path without the stage, already decoded.
	u := &url.URL{Path: e.Path, RawQuery: q.Encode()}
	h := http.Header{}
	if len(e.MultiValueHeaders) > 0 {
		for k, vs := range e.MultiValueHeaders {
			for _, v := range vs {
				h.Add(k, v)
			}
		}
	} else {
		for k, v := range e.Headers {
			h.Add(k, v)
		}
	}
	who, ok := principalV1(&e.RequestContext)
	ctx = withAuthorizer(ctx, who, ok)
	return newRequest(ctx, e.HTTPMethod, u, h, body, e.RequestContext.DomainName, e.RequestContext.Identity.SourceIP)
}

// requestV2 is the request an HTTP API (v2) event describes.
func requestV2(ctx context.Context, e *events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body, err := eventBody(e.Body, e.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	// rawPath keeps the stage's name in front when the stage is not the
	// default one; the routes do not know it.
	p := e.RawPath
	if st := e.RequestContext.Stage; st != "" && st != "$default" {
		if rest, ok := strings.CutPrefix(p, "/"+st); ok && (rest == "" || rest[0] == '/') {
			p = rest
			if p == "" {
				p = "/"
			}
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return nil, caresignal.Invalidf("event", "the event's rawPath %q is not a path", e.RawPath)
	}
	u.RawQuery = e.RawQueryString
	h := http.Header{}
	for k, v := range e.Headers {
		// Repeated headers arrive joined with commas, as HTTP allows.
		h.Add(k, v)
	}
	if len(e.Cookies) > 0 {
		h.Set("Cookie", strings.Join(e.Cookies, "; "))
	}
	who, ok := principalV2(&e.RequestContext)
	ctx = withAuthorizer(ctx, who, ok)
	return newRequest(ctx, e.RequestContext.HTTP.Method, u, h, body, e.RequestContext.DomainName, e.RequestContext.HTTP.SourceIP)
}

func eventBody(body string, b64 bool) ([]byte, error) {
	if !b64 {
		return []byte(body), nil
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, caresignal.Invalidf("event", "the event's body is marked isBase64Encoded but is not base64: %v", err)
	}
	return b, nil
}

func newRequest(ctx context.Context, method string, u *url.URL, h http.Header, body []byte, domain, sourceIP string) (*http.Request, error) {
	if method == "" {
		return nil, caresignal.Invalidf("event", "the event names no HTTP method")
	}
	r, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, caresignal.Invalidf("event", "the event's request cannot be rebuilt: %v", err)
	}
	r.Header = h
	r.RequestURI = u.RequestURI()
	r.Host = h.Get("Host")
	if r.Host == "" {
		r.Host = domain
	}
	if sourceIP != "" {
		r.RemoteAddr = net.JoinHostPort(sourceIP, "0")
	}
	if len(body) == 0 {
		r.Body = http.NoBody
	}
	return r, nil
}

// recorder is the http.ResponseWriter an invocation's answer is written to.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// encodedBody is the body as the gateway takes it: as text when it is
// text, else base64 (with isBase64Encoded).
func (w *recorder) encodedBody() (string, bool) {
	b := w.body.Bytes()
	if textual(w.header.Get("Content-Type"), w.header.Get("Content-Encoding")) && utf8.Valid(b) {
		return string(b), false
	}
	return base64.StdEncoding.EncodeToString(b), true
}

// textual reports whether a body of this type and encoding is text.
func textual(contentType, encoding string) bool {
	if encoding != "" && !strings.EqualFold(encoding, "identity") {
		return false
	}
	if contentType == "" {
		return true // an empty body, a redirect
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"), strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/javascript", "application/xml", "image/svg+xml", "application/x-www-form-urlencoded":
		return true
	}
	return false
}

// responseV1 is the REST API (v1) response event: every header with all
// its values (multiValueHeaders).
func responseV1(w *recorder) events.APIGatewayProxyResponse {
	body, b64 := w.encodedBody()
	return events.APIGatewayProxyResponse{StatusCode: w.status, MultiValueHeaders: w.header, Body: body, IsBase64Encoded: b64}
}

// responseV2 is the HTTP API (v2) response event: headers with their
// values joined by commas, and each Set-Cookie in cookies, where the
// gateway expects them (a cookie cannot be joined with commas).
func responseV2(w *recorder) events.APIGatewayV2HTTPResponse {
	body, b64 := w.encodedBody()
	out := events.APIGatewayV2HTTPResponse{StatusCode: w.status, Headers: map[string]string{}, Body: body, IsBase64Encoded: b64}
	keys := make([]string, 0, len(w.header))
	for k := range w.header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			out.Cookies = append(out.Cookies, w.header[k]...)
			continue
		}
		out.Headers[k] = strings.Join(w.header[k], ", ")
	}
	return out
}
