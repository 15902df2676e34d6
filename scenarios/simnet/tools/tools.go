//go:build tools

// Package tools pins the Decred daemons the real-simnet harness runs. dcrd's own go.mod has
// replace directives, so `go install dcrd@version` refuses it; built as dependencies of this
// module instead, their replace directives are ignored and the versions below are what runs.
package tools

import (
	_ "decred.org/dcrctl"
	_ "decred.org/dcrwallet/v5"
	_ "github.com/decred/dcrd"
	_ "github.com/decred/dcrd/cmd/gencerts"
)
