package layers_test

import (
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/caresignal/caresignal/internal/layers"
)

var loaded = sync.OnceValues(func() (*layers.Module, error) {
	m, err := layers.Load(".")
	if err != nil {
		return nil, err
	}
	// go test caches a passing result keyed on the files the test opened,
	// and go list read the module in a child process. Opening every
	// package directory (and so hashing its listing) makes a new or
	// changed Go file anywhere in the module run the tests again.
	err = filepath.WalkDir(m.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || path == m.Dir {
			return err
		}
		if name := d.Name(); strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" {
			return filepath.SkipDir
		}
		return nil
	})
	return m, err
})

func load(t *testing.T) *layers.Module {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH; the layer checks need go list")
	}
	m, err := loaded()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRules checks the module's imports against the table in layers.go.
func TestRules(t *testing.T) {
	m := load(t)
	for _, v := range violations(m) {
		t.Error(v)
	}
}

// violations returns every break of the rules in m, one line each:
//   - only the packages under cmd/ (and under internal/web itself)
//     import internal/web;
//   - the vocabulary and the pure packages import none of their layer's
//     Forbidden packages;
//   - no package imports one of a higher layer, or one outside the layers;
//   - every package is in a layer or listed as outside them.
//
// Imports are those of non-test files.
func violations(m *layers.Module) []string {
	var vs []string
	for _, p := range m.Packages {
		if layers.IsOutside(p.Rel) {
			// Outside the layers, but not above the web rule.
		} else if layers.LayerOf(p.Rel) < 0 {
			vs = append(vs, fmt.Sprintf("package %s is in no layer: add it to Layers in internal/layers/layers.go", p.Rel))
		}
		from := layers.LayerOf(p.Rel)
		for _, f := range p.Files {
			for _, imp := range f.Imports {
				at := fmt.Sprintf("%s:%d: imports %s", f.Name, imp.Line, imp.Path)
				if from >= 0 {
					for _, bad := range layers.Layers[from].Forbidden {
						if layers.Under(imp.Path, bad) {
							vs = append(vs, fmt.Sprintf("%s: the %s layer may not import %s", at, layers.Layers[from].Name, bad))
						}
					}
				}
				rel, ok := m.Rel(imp.Path)
				if !ok {
					continue
				}
				if layers.Under(rel, layers.Web) && !layers.Under(p.Rel, layers.Commands) && !layers.Under(p.Rel, layers.Web) {
					vs = append(vs, fmt.Sprintf("%s: only the packages under %s/ may import %s", at, layers.Commands, layers.Web))
				}
				to := layers.LayerOf(rel)
				switch {
				case from < 0:
					// Placed nowhere (reported above) or outside the layers.
				case layers.IsOutside(rel):
					vs = append(vs, fmt.Sprintf("%s: %s is outside the layers", at, rel))
				case to > from:
					vs = append(vs, fmt.Sprintf("%s: %s is in layer %s, above %s", at, rel, layers.Layers[to].Name, layers.Layers[from].Name))
				}
			}
		}
	}
	return vs
}

// TestViolations holds violations to each rule on a made-up module.
func TestViolations(t *testing.T) {
	const mod = "example.com/m"
	file := func(name string, imports ...string) layers.File {
		f := layers.File{Name: name}
		for i, p := range imports {
			f.Imports = append(f.Imports, layers.Import{Path: p, Line: 3 + i})
		}
		return f
	}
	m := &layers.Module{Path: mod, Packages: []*layers.Package{
		{Rel: ".", Files: []layers.File{file("store.go", "context", "net/http/httptest")}},
		{Rel: "cmd/caresignal", Files: []layers.File{file("cmd/caresignal/serve.go", "net/http", mod+"/internal/web", mod+"/model")}},
		{Rel: "internal/plot", Files: []layers.File{file("internal/plot/plot.go", mod+"/model", mod+"/eval")}},
		{Rel: "internal/web", Files: []layers.File{file("internal/web/api.go", mod+"/internal/web/form", mod+"/scripts/x")}},
		{Rel: "internal/predlog", Files: []layers.File{file("internal/predlog/log.go", mod+"/internal/web/form")}},
		{Rel: "monitor", Files: []layers.File{file("monitor/parity.go", mod+"/internal/web")}},
		{Rel: "scripts/x", Files: []layers.File{file("scripts/x/main.go", "os", mod+"/internal/web")}},
		{Rel: "survival", Files: []layers.File{file("survival/fit.go", "os", "database/sql", mod)}},
		{Rel: "unplaced", Files: []layers.File{file("unplaced/a.go", mod+"/cmd/caresignal")}},
	}}
	want := []string{
		"store.go:4: imports net/http/httptest: the vocabulary layer may not import net/http",
		"internal/plot/plot.go:3: imports example.com/m/model: model is in layer model, above support",
		"internal/web/api.go:4: imports example.com/m/scripts/x: scripts/x is outside the layers",
		"internal/predlog/log.go:3: imports example.com/m/internal/web/form: only the packages under cmd/ may import internal/web",
		"monitor/parity.go:3: imports example.com/m/internal/web: only the packages under cmd/ may import internal/web",
		"monitor/parity.go:3: imports example.com/m/internal/web: internal/web is in layer adapters, above core",
		"scripts/x/main.go:4: imports example.com/m/internal/web: only the packages under cmd/ may import internal/web",
		"survival/fit.go:3: imports os: the pure layer may not import os",
		"survival/fit.go:4: imports database/sql: the pure layer may not import database/sql",
		"package unplaced is in no layer: add it to Layers in internal/layers/layers.go",
	}
	// internal/web/form is in no layer: as an import it breaks only the
	// web rule; as a package it would be reported unplaced.
	if got := violations(m); !slices.Equal(got, want) {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
