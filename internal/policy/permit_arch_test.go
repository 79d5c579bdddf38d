package policy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reviewed are the functions outside this package, in non-test code, that
// use Unrestricted or mint a Permit themselves, and why each is safe.
// Everything else obtains its permit from router.Execute or
// ExecuteCascade, which mint it from the request's Clearance; the types
// (provider.Provider's methods take a Permit, and only Clearance.Permit
// makes a valid one) make any other way impossible to write. Adding an
// entry needs the same argument as these.
var reviewed = map[string]string{
	// Minting from the request's clearance.
	"internal/router/execute.go:Execute":        "mints for each target from the clearance the caller passes (the request's)",
	"internal/router/cascade.go:ExecuteCascade": "mints for each target from the clearance the caller passes (the request's)",
	"internal/eval/clearance.go:clear":          "mints from the decision the config's policy made on this eval call's own text",
	// Unrestricted.
	"internal/gateway/pipeline.go:policy": "Unrestricted only when the gateway has no Guard: no data policy is configured, so no verdict can restrict anything",
	"internal/eval/client.go:Chat":        "Unrestricted only for a ProviderClient assembled with Add (no config, so no policy; tests); NewProviderClient always has the config's policy",
}

// TestUnrestrictedIsReviewed: Unrestricted() and direct permit minting
// (Clearance.Permit) appear in non-test code only in reviewed functions,
// and every reviewed function still has one.
func TestUnrestrictedIsReviewed(t *testing.T) {
	root := filepath.Join("..", "..")
	found := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch {
			case rel == ".", rel == "internal", rel == "cmd", rel == "bench", strings.HasPrefix(rel, "internal/"), strings.HasPrefix(rel, "cmd/"), strings.HasPrefix(rel, "bench/"):
			default:
				return filepath.SkipDir
			}
			// This package defines them; the fakes are test code.
			if rel == "internal/policy" || rel == "internal/fake" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, src, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			key := rel + ":" + fn.Name.Name
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				// Syntactic on purpose: any method named Permit with one
				// argument counts, so a rename cannot hide a mint.
				unrestricted := sel.Sel.Name == "Unrestricted"
				mint := sel.Sel.Name == "Permit" && len(call.Args) == 1
				if !unrestricted && !mint {
					return true
				}
				if _, ok := reviewed[key]; !ok {
					t.Errorf("%s: calls %s outside the reviewed places; take the permit router.Execute hands the attempt (or add a reviewed entry with the reason it is safe)", key, sel.Sel.Name)
				}
				found[key] = true
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for key := range reviewed {
		if !found[key] {
			t.Errorf("reviewed entry %s no longer uses Unrestricted or mints a permit: remove it", key)
		}
	}
}
