package service_test

import (
	"bufio"
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"ftpdiag/service"
	"ftpdiag/service/api"
	"ftpdiag/service/store"
)

// openAPIDoc is the OpenAPI document a service serves, ready to check
// answers against: a JSON-Schema 2020-12 validator (OpenAPI 3.1's schema
// dialect, with formats asserted) over the whole document, so that $refs
// to components resolve, and the document itself for the routes, status
// codes and properties it declares.
type openAPIDoc struct {
	t        *testing.T
	doc      map[string]any
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema
}

// openAPIResource is the name the document is known by to the validator.
const openAPIResource = "mem:///openapi.json"

// loadOpenAPI fetches /api/v1/openapi.json from the service.
func loadOpenAPI(t *testing.T, ts *testService) *openAPIDoc {
	t.Helper()
	r := ts.do("GET", "/api/v1/openapi.json", "", nil)
	if r.code != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json: %v", r)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("the OpenAPI document is not JSON: %v", err)
	}
	doc, ok := v.(map[string]any)
	if !ok || !strings.HasPrefix(fmt.Sprint(doc["openapi"]), "3.1") {
		t.Fatalf("not an OpenAPI 3.1 document: openapi %v", doc["openapi"])
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(openAPIResource, v); err != nil {
		t.Fatal(err)
	}
	return &openAPIDoc{t: t, doc: doc, compiler: c, schemas: map[string]*jsonschema.Schema{}}
}

// pointerToken escapes one JSON-pointer token.
func pointerToken(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// lookup walks the document along keys; nil if a key is missing.
func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// check reports, as errors of the test, the problems of an answer
// (problems).
func (o *openAPIDoc) check(method, route string, r response) {
	o.t.Helper()
	for _, p := range o.problems(method, route, r) {
		o.t.Errorf("%s %s answered %d: %s", method, route, r.code, p)
	}
}

// problems checks an answer of METHOD route (a path template of the
// document, "/api/v1/captures/{id}"): its status code must be one the
// document lists for the route, its Content-Type one declared there, and a
// JSON answer must match the declared schema and carry no property the
// schema does not declare.
func (o *openAPIDoc) problems(method, route string, r response) []string {
	o.t.Helper()
	code := strconv.Itoa(r.code)
	declared := lookup(o.doc, "paths", route, strings.ToLower(method), "responses", code)
	if declared == nil {
		return []string{fmt.Sprintf("the OpenAPI document lists no %d answer for the route (body %s)", r.code, bytes.TrimSpace(r.body))}
	}
	mediaType, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	content, _ := lookup(declared, "content").(map[string]any)
	switch {
	case len(content) == 0 && len(r.body) != 0:
		return []string{fmt.Sprintf("the document declares no body, the answer has %d bytes", len(r.body))}
	case len(content) == 0:
		return nil
	case content[mediaType] == nil:
		return []string{fmt.Sprintf("Content-Type %q is not among the declared %v", mediaType, keys(content))}
	case mediaType != "application/json":
		return nil
	}
	loc := openAPIResource + "#/paths/" + pointerToken(route) + "/" + strings.ToLower(method) +
		"/responses/" + code + "/content/application~1json/schema"
	sch, ok := o.schemas[loc]
	if !ok {
		var err error
		if sch, err = o.compiler.Compile(loc); err != nil {
			o.t.Fatalf("%s %s %d: compiling the declared schema: %v", method, route, r.code, err)
		}
		o.schemas[loc] = sch
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.body))
	if err != nil {
		return []string{fmt.Sprintf("the answer is not JSON: %v", err)}
	}
	var out []string
	if err := sch.Validate(v); err != nil {
		out = append(out, fmt.Sprintf("the answer does not match its OpenAPI schema: %v\n%s", err, r.body))
	}
	for _, p := range o.undeclared(lookup(content["application/json"], "schema"), v, "") {
		out = append(out, fmt.Sprintf("property %s is not declared in the OpenAPI document", p))
	}
	return out
}

// keys lists a map's keys, sorted.
func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// resolve follows a local $ref ("#/components/schemas/X").
func (o *openAPIDoc) resolve(schema any) map[string]any {
	m, _ := schema.(map[string]any)
	for m != nil {
		ref, ok := m["$ref"].(string)
		if !ok {
			break
		}
		var path []string
		for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			path = append(path, strings.NewReplacer("~1", "/", "~0", "~").Replace(tok))
		}
		m, _ = lookup(o.doc, path...).(map[string]any)
	}
	return m
}

// objectShape gathers what a schema declares of an object: its
// properties (through $ref and allOf) and whether others are allowed.
func (o *openAPIDoc) objectShape(schema any) (props map[string]any, open bool) {
	props = map[string]any{}
	m := o.resolve(schema)
	if m == nil {
		return props, true
	}
	if ap, ok := m["additionalProperties"]; ok && ap != false {
		open = true
	}
	if p, ok := m["properties"].(map[string]any); ok {
		for k, v := range p {
			props[k] = v
		}
	}
	for _, sub := range asSlice(m["allOf"]) {
		p, o2 := o.objectShape(sub)
		for k, v := range p {
			props[k] = v
		}
		open = open || o2
	}
	return props, open
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// undeclared lists the properties of v, at any depth, that its schema
// neither declares nor allows (additionalProperties): the checker's part
// beyond JSON Schema, where OpenAPI schemas stay open by default and an
// undocumented field would pass.
func (o *openAPIDoc) undeclared(schema any, v any, at string) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		props, open := o.objectShape(schema)
		for _, k := range keys(v) {
			sub, ok := props[k]
			if !ok {
				if !open {
					out = append(out, at+"/"+k)
				}
				continue
			}
			out = append(out, o.undeclared(sub, v[k], at+"/"+k)...)
		}
	case []any:
		items := lookup(o.resolve(schema), "items")
		for i, e := range v {
			if items != nil {
				out = append(out, o.undeclared(items, e, fmt.Sprintf("%s/%d", at, i))...)
			}
		}
	}
	return out
}

// TestAnswersMatchOpenAPI checks real answers of every JSON kind the API
// gives (an upload accepted, raw and each=true; a record queued, running,
// done, with an error; a list, paged and last; errors 400, 401, 404, 409,
// 413, 415) against the OpenAPI document the service serves.
func TestAnswersMatchOpenAPI(t *testing.T) {
	ts := startService(t, func(c *service.Config) {
		c.Worker.Workers = 1
		c.Worker.HoldRunning = 2 * time.Second // a record seen running, another queued
		c.API.MaxUpload = 1 << 20
	})
	o := loadOpenAPI(t, ts)
	const (
		captures = "/api/v1/captures"
		capture  = "/api/v1/captures/{id}"
		report   = "/api/v1/captures/{id}/report"
	)

	r := ts.do("POST", captures+"?name=03-pasv-dropped-curl-client.pcap&tags=firewall,t-1", acmeToken, fixtureReader(t, "03-pasv-dropped-curl-client.pcap"))
	o.check("POST", captures, r)
	var running api.Accepted
	decode(t, r.body, &running)
	body, ctype := multipartBody(t, []string{"02-nat-pasv-curl-follow-client.pcap", "02-nat-pasv-curl-follow-server.pcap"}, "each", "true", "name", "pair")
	r = ts.do("POST", captures, acmeToken, body, "Content-Type", ctype)
	o.check("POST", captures, r)
	var each api.Accepted
	decode(t, r.body, &each)
	if len(each.Captures) != 2 {
		t.Fatalf("each=true: %s", r.body)
	}

	// Queued and running records, and a report asked for too early.
	seen := map[store.Status]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for !seen[store.Running] || !seen[store.Queued] {
		for _, id := range []string{running.ID, each.ID} {
			r := ts.do("GET", "/api/v1/captures/"+id, acmeToken, nil)
			var c api.Capture
			decode(t, r.body, &c)
			if !seen[c.Status] {
				seen[c.Status] = true
				o.check("GET", capture, r)
				if !c.Status.Final() {
					o.check("GET", report, ts.do("GET", "/api/v1/captures/"+id+"/report", acmeToken, nil)) // 409
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("saw %v in 30 s, want a record queued and one running", seen)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A capture damaged after its first packets: done, with an error.
	damaged := bigCapture(t, 1)
	damaged = append(damaged[:len(damaged):len(damaged)], 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	r = ts.do("POST", captures+"?name=damaged.pcap", acmeToken, bytes.NewReader(damaged))
	o.check("POST", captures, r)
	var dam api.Accepted
	decode(t, r.body, &dam)

	for _, id := range []string{running.ID, each.Captures[0].ID, each.Captures[1].ID, dam.ID} {
		ts.wait(acmeToken, id)
		o.check("GET", capture, ts.do("GET", "/api/v1/captures/"+id, acmeToken, nil))
	}
	if c := ts.wait(acmeToken, dam.ID); c.Error == nil {
		t.Errorf("the damaged capture's record has no error: %+v", c)
	}

	// Lists: the last page (next_cursor null), a page with a cursor, filters.
	for _, q := range []string{"", "?limit=1", "?limit=2&tag=firewall", "?status=done&severity=ok", "?status=running"} {
		r := ts.do("GET", captures+q, acmeToken, nil)
		o.check("GET", captures, r)
		if q == "?limit=1" {
			var l api.List
			decode(t, r.body, &l)
			if l.NextCursor == nil {
				t.Fatalf("limit=1 of 4 captures without next_cursor: %s", r.body)
			}
			o.check("GET", captures, ts.do("GET", captures+"?limit=1&cursor="+*l.NextCursor, acmeToken, nil))
		}
	}
	if r := ts.do("GET", captures+"?status=bogus", acmeToken, nil); r.code != http.StatusBadRequest {
		t.Errorf("status=bogus: %v", r)
	} else {
		o.check("GET", captures, r)
	}

	// Errors.
	errs := []struct {
		method, route, path, token string
		body                       []byte
		want                       int
	}{
		{"GET", captures, captures, "", nil, http.StatusUnauthorized},
		{"GET", capture, "/api/v1/captures/" + store.NewID(), acmeToken, nil, http.StatusNotFound},
		{"GET", capture, "/api/v1/captures/" + running.ID, globexToken, nil, http.StatusNotFound},
		{"DELETE", capture, "/api/v1/captures/" + store.NewID(), acmeToken, nil, http.StatusNotFound},
		{"GET", report, "/api/v1/captures/" + running.ID + "/report?format=pdf", acmeToken, nil, http.StatusBadRequest},
		{"POST", captures, captures + "?tags=bad%20tag!", acmeToken, []byte("x"), http.StatusBadRequest},
		{"POST", captures, captures + "?name=notes.txt", acmeToken, []byte("# not a capture\n"), http.StatusUnsupportedMediaType},
		{"POST", captures, captures, acmeToken, bigCapture(t, 2<<20), http.StatusRequestEntityTooLarge},
	}
	for _, e := range errs {
		r := ts.do(e.method, e.path, e.token, bytes.NewReader(e.body))
		if r.code != e.want {
			t.Errorf("%s %s: %v, want %d", e.method, e.path, r, e.want)
			continue
		}
		o.check(e.method, e.route, r)
	}
	// 413 before the body, on a declared length.
	conn := dial(t, ts)
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", captures, acmeToken, 10<<30)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("declared 10 GiB: %v", err)
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	o.check("POST", captures, response{code: resp.StatusCode, header: resp.Header, body: b.Bytes()})

	// A deletion: 204 without a body.
	o.check("DELETE", capture, ts.do("DELETE", "/api/v1/captures/"+dam.ID, acmeToken, nil))
}

// TestOpenAPICheckerFails shows the checker refuses what it should: an
// answer off its schema (a wrong type, a missing required property, a
// value outside an enum, a malformed date-time, null for an array), a
// property the document does not declare, at the top or nested, a status
// code the route does not list, and a body where none is declared.
func TestOpenAPICheckerFails(t *testing.T) {
	ts := startService(t, nil)
	o := loadOpenAPI(t, ts)
	const links = `"id": "x", "status_url": "", "report_url": "", "html_url": "", "json_url": ""`
	for _, tc := range []struct {
		name, method, route string
		code                int
		body                string
	}{
		{"wrong type", "POST", "/api/v1/captures", 202, `{"id": 1, "status_url": "", "report_url": "", "html_url": "", "json_url": ""}`},
		{"missing required", "POST", "/api/v1/captures", 202, `{"id": "x", "status_url": "", "report_url": "", "html_url": ""}`},
		{"outside the enum", "GET", "/api/v1/captures/{id}", 200, `{` + links + `, "status": "lost"}`},
		{"bad date-time", "GET", "/api/v1/captures/{id}", 200, `{` + links + `, "created": "yesterday"}`},
		{"null array", "GET", "/api/v1/captures/{id}", 200, `{` + links + `, "tags": null}`},
		{"undeclared property", "GET", "/api/v1/captures", 200, `{"captures": [], "next_cursor": null, "total": 3}`},
		{"undeclared nested property", "GET", "/api/v1/captures", 200, `{"captures": [{` + links + `, "files": [{"name": "a", "object": "o"}]}]}`},
		{"undeclared status", "GET", "/api/v1/captures", 418, `{"error": "teapot"}`},
		{"error without its message", "GET", "/api/v1/captures/{id}", 404, `{"status": "done"}`},
		{"body on 204", "DELETE", "/api/v1/captures/{id}", 204, `{}`},
	} {
		r := response{code: tc.code, header: http.Header{"Content-Type": {"application/json"}}, body: []byte(tc.body)}
		if p := o.problems(tc.method, tc.route, r); len(p) == 0 {
			t.Errorf("%s: the checker accepted %d %s", tc.name, tc.code, tc.body)
		}
	}
	valid := response{code: 202, header: http.Header{"Content-Type": {"application/json"}}, body: []byte(`{` + links + `}`)}
	if p := o.problems("POST", "/api/v1/captures", valid); len(p) != 0 {
		t.Errorf("the checker refused a valid answer: %v", p)
	}
}

// fixtureReader reads a fixture for a request body.
func fixtureReader(t *testing.T, name string) *bytes.Reader {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}
