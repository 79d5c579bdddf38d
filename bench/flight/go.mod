// A module of its own so that the gateway's module does not depend on
// golang.org/x/exp (its trace parser) for a benchmark tool.
module github.com/fulcrumhq/fulcrum/bench/flight

go 1.26.0

require golang.org/x/exp v0.0.0-20261113113407-e3970619a1a4
