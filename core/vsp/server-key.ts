import { ed25519 } from "@noble/curves/ed25519.js"
import { decodeStdBase64, encodeStdBase64 } from "./base64.ts"

/**
 * The voting service's own key: Ed25519, as vspd's. From a 32-byte seed (Go's
 * `ed25519.NewKeyFromSeed`); the public key is what `vspinfo` reports in `pubkey` and what a
 * staker gives dcrwallet as `--vsp.pubkey`: standard base64 of the 32 key bytes (vspd encodes it
 * with `base64.StdEncoding`, dcrwallet decodes it the same way). The seed is the secret; where it
 * comes from (generated once, stored) is the caller's business, this stays pure.
 */
export const SERVER_SEED_BYTES = 32

const checkSeed = (seed: Uint8Array): void => {
  if (seed.length !== SERVER_SEED_BYTES) throw new RangeError(`an Ed25519 seed is ${SERVER_SEED_BYTES} bytes, got ${seed.length}`)
}

/** The service's public key, base64, as `vspinfo`'s `pubkey` and dcrwallet's `--vsp.pubkey` carry it. */
export const serverPublicKey = (seed: Uint8Array): string => {
  checkSeed(seed)
  return encodeStdBase64(ed25519.getPublicKey(seed))
}

/**
 * The `VSP-Server-Signature` header of a response: standard base64 of the Ed25519 signature over
 * the exact response body bytes sent (vspd signs the JSON it writes, byte for byte; dcrwallet
 * verifies the body it read against `--vsp.pubkey`, so the body must not change after signing).
 */
export const signResponse = (seed: Uint8Array, body: Uint8Array): string => {
  checkSeed(seed)
  return encodeStdBase64(ed25519.sign(body, seed))
}

/**
 * What dcrwallet checks on every response: the signature (base64) is the service's key's over
 * these body bytes. False for anything malformed (bad base64, wrong lengths), never a throw.
 */
export const verifyResponse = (publicKeyBase64: string, body: Uint8Array, signatureBase64: string): boolean => {
  const publicKey = decodeStdBase64(publicKeyBase64)
  const signature = decodeStdBase64(signatureBase64)
  if (publicKey === undefined || signature === undefined || publicKey.length !== 32 || signature.length !== 64) return false
  try {
    // Go's crypto/ed25519 Verify is RFC 8032 strict about S; zip215 off is the closer match.
    return ed25519.verify(signature, body, publicKey, { zip215: false })
  } catch {
    return false
  }
}
