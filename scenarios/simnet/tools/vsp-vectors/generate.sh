#!/bin/sh
# Regenerates core/vsp's Go-computed vectors. Needs Go and the module proxy (GOPROXY) once.
set -eu
cd "$(dirname "$0")"
out=../../../../core/vsp
{
  echo "["
  for network in mainnet testnet3 simnet; do go run . fee "$network"; done | sed '$!s/$/,/'
  echo "]"
} > "$out/stake-pool-fee.vectors.json"
go run . keys > "$out/keys.vectors.json"
