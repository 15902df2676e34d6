//go:build tools

// Package tools pins the Decred daemons the real-simnet harness runs, the reference pool's
// CPU miner it mines with, and the reference pool itself (for the side-by-side bench). dcrd's own
// go.mod has replace directives, so `go install dcrd@version` refuses it; built as dependencies of
// this module instead, their replace directives are ignored and the versions below are what
// runs. dcrpool v1.2.0 (the only dcrpool version the module proxy serves; BLAKE-256 era) adds
// modules of its own but changes no version the daemons build with.
package tools

import (
	_ "decred.org/dcrctl"
	_ "decred.org/dcrwallet/v5"
	_ "github.com/decred/dcrd"
	_ "github.com/decred/dcrd/cmd/gencerts"
	_ "github.com/decred/dcrpool"
	_ "github.com/decred/dcrpool/cmd/miner"
)
