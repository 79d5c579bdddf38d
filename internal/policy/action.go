package policy

import (
	"fmt"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// Action is what policy does with a request, ordered from the loosest to
// the strictest: when several classes are present the strictest wins.
type Action uint8

const (
	// ActionNone: nothing sensitive was detected or declared.
	ActionNone Action = iota
	// ActionAllow: sensitive data is present and may go anywhere (subject
	// to region and retention requirements).
	ActionAllow
	// ActionRedact: values are replaced by placeholders before the request
	// leaves, and restored in the answer.
	ActionRedact
	// ActionSelfHostedOnly: only self-hosted providers are candidates.
	ActionSelfHostedOnly
	// ActionBlock: the request is refused.
	ActionBlock
)

// String returns the name used in config and in the
// x-fulcrum-policy-action header.
func (a Action) String() string {
	switch a {
	case ActionNone:
		return "none"
	case ActionAllow:
		return config.ActionAllow
	case ActionRedact:
		return config.ActionRedact
	case ActionSelfHostedOnly:
		return config.ActionSelfHostedOnly
	case ActionBlock:
		return config.ActionBlock
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// ParseAction parses a config action name.
func ParseAction(s string) (Action, error) {
	switch s {
	case config.ActionAllow:
		return ActionAllow, nil
	case config.ActionRedact:
		return ActionRedact, nil
	case config.ActionSelfHostedOnly:
		return ActionSelfHostedOnly, nil
	case config.ActionBlock:
		return ActionBlock, nil
	}
	return ActionNone, fmt.Errorf("policy: unknown action %q", s)
}
