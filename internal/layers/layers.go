// Package layers holds the module's layers: the table that places every
// package of caresignal in one layer, from the vocabulary at the bottom
// to the command line at the top, and the rules that go with it.
//
// A package may import the packages of its own layer and of the layers
// below it, never of a layer above. The tests of this package check that
// rule and the others written beside the table (who may import
// [Web], what the pure layers must not import, that no package is left
// unplaced) on every go test run, and generate the diagram in
// docs/architecture.md from the same table and the module's imports.
package layers

//go:generate go test -run TestDiagram -update

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A Layer is a set of packages that may import each other and the
// packages of the layers below it, never those of a layer above.
type Layer struct {
	Name string
	Doc  string // one line: what the layer holds

	// Packages are import paths relative to the module; "." is the
	// root package. A package that does not exist (yet) is skipped.
	Packages []string

	// Forbidden lists standard-library packages that no non-test file of
	// the layer may import, nor any package under them: with them out,
	// training and serving run the same code by construction.
	Forbidden []string
}

// noIO is what the vocabulary and the pure packages never import.
var noIO = []string{"database/sql", "net/http", "os"}

// noServers is what the model and the core never import: they answer,
// score and record the same way whichever adapter (an HTTP server, a
// serverless function, the command line) calls them, and reach a
// database only through the interfaces the adapters satisfy.
var noServers = []string{"database/sql", "net/http"}

// Layers is the module's layers, from the bottom up.
var Layers = []Layer{
	{
		Name:      "vocabulary",
		Doc:       "the domain's values, the Store contract and the error type",
		Packages:  []string{"."},
		Forbidden: noIO,
	},
	{
		Name:      "pure",
		Doc:       "math, features, metrics, the synthetic cohort and the wire formats; no I/O",
		Packages:  []string{"survival", "feature", "eval", "synth", "wire"},
		Forbidden: noIO,
	},
	{
		// Above pure, so that a pure package cannot reach the file
		// system through atomicfile.
		Name:     "support",
		Doc:      "self-contained helpers: SVG charts, the restricted pickle decoder, atomic file writes, the source tables as CSV files",
		Packages: []string{"internal/plot", "internal/pickle", "internal/atomicfile", "internal/sourcecsv"},
	},
	{
		Name:      "model",
		Doc:       "the artifact: fit, predict, explain, save and load; the scikit-learn and MLflow importers",
		Packages:  []string{"model", "model/sklearn", "model/mlflow"},
		Forbidden: noServers,
	},
	{
		Name:      "core",
		Doc:       "serving, monitoring, the prediction log and API keys, without HTTP or SQL",
		Packages:  []string{"serving", "monitor", "internal/predlog", "internal/access"},
		Forbidden: noServers,
	},
	{
		Name: "adapters",
		Doc:  "the databases and HTTP, and the test support that drives them",
		Packages: []string{
			"internal/sqlstore", "internal/sqlite", "internal/postgres", "internal/web",
			"internal/storetest", "internal/postgres/pgtest", "internal/sklearnfixture", "internal/modeltest", "internal/dbopen",
		},
	},
	{
		Name:     "command",
		Doc:      "the entry points: the command line (parses flags, wires concrete things together, prints) and the serverless functions, which serve the server's handler",
		Packages: []string{"cmd/caresignal", "cmd/serverless"},
	},
}

// Web is the HTTP adapter. Only the commands (the packages under
// [Commands]) may import it or a package under it, besides its own
// packages: every format has its owner below HTTP, and offline tools
// must never import the adapter.
const Web = "internal/web"

// Commands is the directory of the module's commands.
const Commands = "cmd"

// Outside lists the packages that are in no layer because they are not
// part of caresignal: the programs under scripts/ that measure or feed
// it, and this package, which describes the others. A path ending in
// "/..." stands for every package under it.
var Outside = []string{"scripts/...", "internal/layers"}

// LayerOf returns the index in [Layers] of the layer that holds the
// package rel, or -1 if none does.
func LayerOf(rel string) int {
	for i, l := range Layers {
		if slices.Contains(l.Packages, rel) {
			return i
		}
	}
	return -1
}

// IsOutside reports whether the package rel is listed in [Outside].
func IsOutside(rel string) bool {
	for _, o := range Outside {
		if dir, ok := strings.CutSuffix(o, "/..."); ok {
			if Under(rel, dir) {
				return true
			}
		} else if rel == o {
			return true
		}
	}
	return false
}

// Under reports whether the import path p is dir or a path under it.
func Under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// A Module is the module's packages, as go list reports them.
type Module struct {
	Path     string     // module path
	Dir      string     // root directory
	Packages []*Package // sorted by Rel
}

// A Package is one package of the module.
type Package struct {
	Rel   string // import path relative to the module; "." for the root
	Files []File // its non-test Go files for this platform, by name
}

// A File is one Go file and the imports it declares.
type File struct {
	Name    string // slash-separated path from the module root
	Imports []Import
}

// An Import is one import declaration.
type Import struct {
	Path string // the import path as written
	Line int
}

// Rel returns the import path p relative to the module, and whether p
// is in the module at all.
func (m *Module) Rel(p string) (string, bool) {
	if p == m.Path {
		return ".", true
	}
	rel, ok := strings.CutPrefix(p, m.Path+"/")
	return rel, ok
}

// Package returns the package rel, or nil if the module has none.
func (m *Module) Package(rel string) *Package {
	i, ok := slices.BinarySearchFunc(m.Packages, rel, func(p *Package, rel string) int {
		return strings.Compare(p.Rel, rel)
	})
	if !ok {
		return nil
	}
	return m.Packages[i]
}

// Load lists the packages of the module that holds dir with
// go list -json ./..., run from the module root, and reads the imports
// of their non-test Go files (GoFiles and CgoFiles, as built for this
// platform).
func Load(dir string) (*Module, error) {
	out, err := goCmd(dir, "env", "GOMOD")
	if err != nil {
		return nil, err
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == "/dev/null" || gomod == "NUL" {
		return nil, fmt.Errorf("%s is not in a module", dir)
	}
	m := &Module{Dir: filepath.Dir(gomod)}

	out, err = goCmd(m.Dir, "list", "-json=ImportPath,Dir,GoFiles,CgoFiles,Module", "./...")
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	fset := token.NewFileSet()
	for {
		var lp struct {
			ImportPath, Dir   string
			GoFiles, CgoFiles []string
			Module            *struct{ Path string }
		}
		if err := dec.Decode(&lp); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list: %w", err)
		}
		if lp.Module == nil {
			return nil, fmt.Errorf("go list: %s is in no module", lp.ImportPath)
		}
		if m.Path == "" {
			m.Path = lp.Module.Path
		}
		rel, ok := m.Rel(lp.ImportPath)
		if !ok {
			return nil, fmt.Errorf("go list: %s is not in module %s", lp.ImportPath, m.Path)
		}
		p := &Package{Rel: rel}
		for _, name := range slices.Sorted(slices.Values(slices.Concat(lp.GoFiles, lp.CgoFiles))) {
			f, err := readImports(fset, m.Dir, filepath.Join(lp.Dir, name))
			if err != nil {
				return nil, err
			}
			p.Files = append(p.Files, f)
		}
		m.Packages = append(m.Packages, p)
	}
	slices.SortFunc(m.Packages, func(a, b *Package) int { return strings.Compare(a.Rel, b.Rel) })
	return m, nil
}

func goCmd(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}

func readImports(fset *token.FileSet, root, path string) (File, error) {
	name, err := filepath.Rel(root, path)
	if err != nil {
		return File{}, err
	}
	f := File{Name: filepath.ToSlash(name)}
	ast, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
	if err != nil {
		return File{}, err
	}
	for _, spec := range ast.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			return File{}, fmt.Errorf("%s: %w", f.Name, err)
		}
		f.Imports = append(f.Imports, Import{Path: p, Line: fset.Position(spec.Pos()).Line})
	}
	return f, nil
}

// Imports returns the packages of the module that the non-test files of
// p import, relative to the module and sorted.
func (m *Module) Imports(p *Package) []string {
	var deps []string
	for _, f := range p.Files {
		for _, imp := range f.Imports {
			if rel, ok := m.Rel(imp.Path); ok {
				deps = append(deps, rel)
			}
		}
	}
	slices.Sort(deps)
	return slices.Compact(deps)
}

// Diagram renders the generated part of docs/architecture.md from the
// table and the module: a table of the layers, from the top, and a
// Mermaid flowchart with one subgraph per layer, one node per package
// and one arrow per import by a non-test file, less the arrows that a
// longer path implies (a transitive reduction). Packages outside the
// layers are left out; a package in no layer is drawn outside the
// subgraphs. The output depends only on the table and the imports.
func (m *Module) Diagram() string {
	// The packages of each layer, and then those in none, sorted.
	byLayer := make([][]string, len(Layers)+1)
	for _, p := range m.Packages {
		if IsOutside(p.Rel) {
			continue
		}
		i := LayerOf(p.Rel)
		if i < 0 {
			i = len(Layers)
		}
		byLayer[i] = append(byLayer[i], p.Rel)
	}

	// Nodes in drawing order: the top layer first, the unplaced last.
	var nodes []string
	for i := len(Layers) - 1; i >= 0; i-- {
		nodes = append(nodes, byLayer[i]...)
	}
	nodes = append(nodes, byLayer[len(Layers)]...)
	order := make(map[string]int, len(nodes))
	for i, n := range nodes {
		order[n] = i
	}
	deps := make(map[string][]string, len(nodes))
	for _, n := range nodes {
		for _, d := range m.Imports(m.Package(n)) {
			if _, ok := order[d]; ok {
				deps[n] = append(deps[n], d)
			}
		}
	}

	var b strings.Builder
	b.WriteString("| layer | what | packages |\n|---|---|---|\n")
	for i := len(Layers) - 1; i >= 0; i-- {
		l := Layers[i]
		var names []string
		for _, rel := range byLayer[i] {
			names = append(names, "`"+label(rel)+"`")
		}
		if names == nil {
			names = []string{"none yet"}
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", l.Name, l.Doc, strings.Join(names, ", "))
	}
	b.WriteString("\nLayers from the top; an arrow is an import by a non-test file. " +
		"An arrow implied by a longer path is left out (a transitive reduction), " +
		"so that the picture stays readable.\n\n")

	b.WriteString("```mermaid\nflowchart TB\n")
	for i := len(Layers) - 1; i >= 0; i-- {
		if len(byLayer[i]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "    subgraph layer_%s [%s]\n", Layers[i].Name, Layers[i].Name)
		for _, rel := range byLayer[i] {
			fmt.Fprintf(&b, "        %s[\"%s\"]\n", nodeID(rel), label(rel))
		}
		b.WriteString("    end\n")
	}
	if unplaced := byLayer[len(Layers)]; len(unplaced) > 0 {
		b.WriteString("    %% in no layer\n")
		for _, rel := range unplaced {
			fmt.Fprintf(&b, "    %s[\"%s\"]\n", nodeID(rel), label(rel))
		}
	}
	for _, e := range reduce(nodes, order, deps) {
		fmt.Fprintf(&b, "    %s --> %s\n", nodeID(e[0]), nodeID(e[1]))
	}
	b.WriteString("```\n")
	return b.String()
}

// reduce returns the edges of the acyclic graph deps that no longer path
// implies, sorted by the order of their ends.
func reduce(nodes []string, order map[string]int, deps map[string][]string) [][2]string {
	reach := make(map[string]map[string]bool, len(nodes)) // n → all nodes reachable from n
	var visit func(n string) map[string]bool
	visit = func(n string) map[string]bool {
		if r, ok := reach[n]; ok {
			return r
		}
		r := make(map[string]bool)
		reach[n] = r // Go imports have no cycles, so this is never read half-built
		for _, d := range deps[n] {
			r[d] = true
			for x := range visit(d) {
				r[x] = true
			}
		}
		return r
	}
	var edges [][2]string
	for _, n := range nodes {
	next:
		for _, d := range deps[n] {
			for _, via := range deps[n] {
				if via != d && visit(via)[d] {
					continue next
				}
			}
			edges = append(edges, [2]string{n, d})
		}
	}
	slices.SortFunc(edges, func(a, b [2]string) int {
		if c := order[a[0]] - order[b[0]]; c != 0 {
			return c
		}
		return order[a[1]] - order[b[1]]
	})
	return edges
}

// label is how a package is named in the diagram.
func label(rel string) string {
	if rel == "." {
		return "caresignal"
	}
	return rel
}

// nodeID is a package's Mermaid node id, which cannot hold a slash.
func nodeID(rel string) string {
	return strings.ReplaceAll(label(rel), "/", "_")
}
