import { base64 } from "@scure/base"

/**
 * Go's `base64.StdEncoding.DecodeString`: the standard alphabet with padding, strictly, except
 * that carriage returns and line feeds are skipped as Go skips them. Undefined for anything else
 * (the callers answer false or an error, never a throw).
 */
export const decodeStdBase64 = (text: string): Uint8Array | undefined => {
  try {
    return base64.decode(text.replace(/[\r\n]/g, ""))
  } catch {
    return undefined
  }
}

/** Go's `base64.StdEncoding.EncodeToString`. */
export const encodeStdBase64 = (bytes: Uint8Array): string => base64.encode(bytes)
