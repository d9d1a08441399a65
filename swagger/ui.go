package swagger

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/swaggest/swgui/v5/static"
)

// uiHandler serves Swagger UI 5 from the assets that swgui embeds
// (github.com/swaggest/swgui/v5/static), with a page of our own rather
// than swgui's v5emb one: the page has no inline script or style, so it
// works under clnrest's default Content-Security-Policy and under
// stricter ones without 'unsafe-inline'; every file comes from the same
// origin (no CDN, no web fonts); the stylesheet's images are data: URLs,
// which img-src allows. v5emb would also pull in a module (statigz) that
// go.mod does not pin.
type uiHandler struct {
	root  string            // the UI's path, without a trailing '/'
	files map[string]*asset // by name below root; "" is the page
}

// asset is one file: gz holds it gzipped when it is stored that way,
// plain otherwise.
type asset struct {
	plain, gz []byte
	ctype     string
	etag      string
}

// Our own files, beside swgui's.
const (
	initName  = "clnrest-swagger-init.js"
	styleName = "clnrest-swagger.css"
	pageStyle = "html{box-sizing:border-box;overflow-y:scroll}*,*:before,*:after{box-sizing:inherit}body{margin:0;background:#fafafa}\n"
)

// pageHTML is the page; %[1]s is the UI root, HTML-escaped.
const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Core Lightning REST API - Swagger UI</title>
<link rel="stylesheet" href="%[1]s/swagger-ui.css">
<link rel="stylesheet" href="%[1]s/` + styleName + `">
<link rel="icon" type="image/png" href="%[1]s/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="%[1]s/favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="%[1]s/swagger-ui-bundle.js"></script>
<script src="%[1]s/` + initName + `"></script>
</body>
</html>
`

// newUI loads the embedded assets and makes the page served at root,
// which reads the document at specURL.
func newUI(root, specURL string) (*uiHandler, error) {
	u := &uiHandler{root: strings.TrimRight(root, "/"), files: map[string]*asset{}}
	entries, err := fs.ReadDir(static.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("listing Swagger UI assets: %w", err)
	}
	for _, e := range entries {
		data, err := fs.ReadFile(static.FS, e.Name())
		if err != nil {
			return nil, fmt.Errorf("reading Swagger UI asset %s: %w", e.Name(), err)
		}
		if name, ok := strings.CutSuffix(e.Name(), ".gz"); ok {
			u.files[name] = newAsset(name, nil, data)
		} else {
			u.files[e.Name()] = newAsset(e.Name(), data, nil)
		}
	}
	page := fmt.Sprintf(pageHTML, html.EscapeString(u.root))
	u.files[""] = newAsset("index.html", []byte(page), nil)
	u.files["index.html"] = u.files[""]
	u.files[styleName] = newAsset(styleName, []byte(pageStyle), nil)
	u.files[initName] = newAsset(initName, initScript(specURL), nil)
	return u, nil
}

func newAsset(name string, plain, gz []byte) *asset {
	sum := sha256.Sum256(append(append([]byte(nil), plain...), gz...))
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	return &asset{plain: plain, gz: gz, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// initScript starts Swagger UI on the document, without the standalone
// top bar (whose URL box would invite loading other documents). Try it
// out sends requests to the document's server "/", the same origin.
func initScript(specURL string) []byte {
	url, _ := json.Marshal(specURL) // a string always encodes
	return []byte(`window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: ` + string(url) + `,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "BaseLayout",
    filter: true,
    validatorUrl: null,
    displayRequestDuration: true,
    defaultModelsExpandDepth: -1
  });
});
`)
}

// ServeHTTP serves the page at the root (with or without a trailing
// '/'), the assets below it, and clnrest's JSON 404 for any other name.
// Gzipped assets go out as they are to clients that accept gzip, and
// are inflated for the others.
func (u *uiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, u.root), "/")
	a, ok := u.files[name]
	if !ok {
		writeError(w, http.StatusNotFound, "Path not found")
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache") // revalidate: the binary, and so the assets, may change
	if a.gz != nil {
		h.Set("Vary", "Accept-Encoding")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	switch {
	case a.gz == nil:
		_, _ = w.Write(a.plain)
	case acceptsGzip(r.Header.Get("Accept-Encoding")):
		h.Set("Content-Encoding", "gzip")
		_, _ = w.Write(a.gz)
	default:
		zr, err := gzip.NewReader(bytes.NewReader(a.gz))
		if err != nil {
			writeError(w, http.StatusInternalServerError, "reading embedded asset "+name+": "+err.Error())
			return
		}
		_, _ = io.Copy(w, zr)
	}
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip: it
// names gzip (or *) without q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		if q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000" {
			return false
		}
		return true
	}
	return false
}
