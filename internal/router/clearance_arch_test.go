package router

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

// clearedCallers are the functions that call a provider (Chat, ChatStream,
// Embed, Caps.Forward) outside a function literal passed to Execute or
// ExecuteCascade, and why each is cleared. Adding one needs the same
// argument: every upstream call carries its request's policy.Clearance.
var clearedCallers = map[string]string{
	// Attempt functions: called only from Execute/ExecuteCascade closures
	// with the *Target those chose under the request's clearance.
	"internal/gateway/chat.go:chatAttempt": "attempt of Execute/ExecuteCascade",
	"internal/gateway/chat.go:forwardOnce": "attempt of Execute (pass-through)",
	"internal/gateway/stream.go:open":      "attempt of Execute (streams)",
	"internal/eval/client.go:Chat":         "ProviderClient.Chat: evalPolicy.clear checks the clearance first",
	"internal/eval/run.go:call":            "eval.Client (ProviderClient above, or a gateway over HTTP)",
	// Inside a chatCall.run closure: run is router.Execute with c.clr.
	"internal/gateway/embeddings.go:serveEmbeddings": "attempt of chatCall.run (Execute)",
}

// TestProviderCallsAreCleared is the closest Go gets to "no code path can
// call a provider without a verdict": provider.Provider's methods are
// exported (every adapter and its tests call them), so instead every call
// in non-test code outside the adapters must sit in a function literal
// passed to Execute/ExecuteCascade (which apply the clearance before
// choosing a target) or in a reviewed function of clearedCallers. A new
// direct call fails here until it is routed through Execute.
func TestProviderCallsAreCleared(t *testing.T) {
	root := filepath.Join("..", "..")
	methods := map[string]bool{"Chat": true, "ChatStream": true, "Embed": true, "Forward": true}
	found := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch {
			case rel == ".", rel == "internal", rel == "cmd", strings.HasPrefix(rel, "internal/"), strings.HasPrefix(rel, "cmd/"):
			default:
				return filepath.SkipDir
			}
			// The adapters implement the calls; the fakes and e2e are tests.
			if strings.HasPrefix(rel, "internal/provider") || rel == "internal/fake" || rel == "internal/e2e" {
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
			var inExecute int
			var walk func(n ast.Node) bool
			walk = func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				if name := callName(call); name == "Execute" || name == "ExecuteCascade" {
					ast.Inspect(call.Fun, walk)
					for _, a := range call.Args {
						if _, lit := a.(*ast.FuncLit); lit {
							inExecute++
							ast.Inspect(a, walk)
							inExecute--
						} else {
							ast.Inspect(a, walk)
						}
					}
					return false
				}
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && methods[sel.Sel.Name] && inExecute == 0 {
					if _, ok := clearedCallers[key]; !ok {
						t.Errorf("%s: %s calls .%s outside router.Execute; route it through Execute with the request's policy.Clearance (or add a reviewed entry to clearedCallers)", key, rel, sel.Sel.Name)
					}
					found[key] = true
				}
				return true
			}
			ast.Inspect(fn.Body, walk)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for key := range clearedCallers {
		if !found[key] {
			t.Errorf("clearedCallers entry %s calls no provider directly any more: remove it", key)
		}
	}
}

func callName(c *ast.CallExpr) string {
	switch f := c.Fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	case *ast.IndexExpr: // Execute[T](...)
		return callName(&ast.CallExpr{Fun: f.X})
	case *ast.IndexListExpr:
		return callName(&ast.CallExpr{Fun: f.X})
	}
	return ""
}
