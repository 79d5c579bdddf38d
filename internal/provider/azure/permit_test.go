package azure

import (
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// permit mints the permit a test's direct call presents: adapter tests
// exercise the adapter, not data policy, so the clearance is Unrestricted.
func permit(p provider.Provider) policy.Permit {
	pm, err := policy.Unrestricted().Permit(p.Info())
	if err != nil {
		panic(err)
	}
	return pm
}
