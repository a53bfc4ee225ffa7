package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"path"
	"strings"
)

// The web app's style sheet and icon (and any script it comes to need)
// are served as files embedded in the binary, never inline: the pages'
// Content-Security-Policy allows no inline style or script.
//
//go:embed static
var staticFS embed.FS

// staticFile is one embedded file as served.
type staticFile struct {
	body        []byte
	contentType string
}

// staticFiles maps the served name of each embedded file, which carries a
// hash of its content ("app.3f9c0a1b2c3d.css"), to the file; staticNames
// maps its name in the source ("app.css") to that served name. A page
// links the hashed name, so a browser may keep a file for good and a new
// release's file is a new name.
var staticFiles, staticNames = loadStatic()

func loadStatic() (map[string]staticFile, map[string]string) {
	files, names := map[string]staticFile{}, map[string]string{}
	entries, err := staticFS.ReadDir("static")
	if err != nil {
		panic("web: " + err.Error())
	}
	for _, e := range entries {
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic("web: " + err.Error())
		}
		ext := path.Ext(e.Name())
		var ct string
		switch ext {
		case ".css":
			b = append(b, barWidths()...)
			ct = "text/css; charset=utf-8"
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		default:
			panic("web: no content type for static/" + e.Name())
		}
		sum := sha256.Sum256(b)
		served := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:6]) + ext
		files[served], names[e.Name()] = staticFile{body: b, contentType: ct}, served
	}
	return files, names
}

// barWidths are the rules that size the what-if page's bars (class w0 to
// w100: a width in whole per cent), in place of style attributes.
func barWidths() string {
	var b strings.Builder
	b.WriteString("\n/* bar widths, generated */\n")
	for i := 0; i <= 100; i++ {
		fmt.Fprintf(&b, ".w%d{width:%d%%}", i, i)
		if i%10 == 9 || i == 100 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// staticPath is the path pages link a file of static/ by; a name that is
// not there fails the page (a template bug, found by any test rendering
// it).
func staticPath(name string) (string, error) {
	served, ok := staticNames[name]
	if !ok {
		return "", fmt.Errorf("no static file %s", name)
	}
	return "/static/" + served, nil
}

// handleStatic serves the embedded files, to be cached for a year: a
// file's name changes with its content.
func (s *server) handleStatic() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := staticFiles[r.PathValue("file")]
		if !ok {
			http.Error(w, "no such file", http.StatusNotFound)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Write(f.body)
	})
}
