package router

import (
	"context"
	"os"
	"testing"
)

func TestRouteEvalPrint(t *testing.T) {
	for _, s := range []string{"train", "heldout", "all"} {
		if _, err := RouteEval(context.Background(), os.Stdout, RouteEvalOptions{Split: s}); err != nil {
			t.Fatal(err)
		}
	}
}
