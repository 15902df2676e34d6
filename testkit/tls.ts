import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** A PEM certificate and its key. */
interface TestCertificate {
  readonly cert: string
  readonly key: string
}

/**
 * A fresh self-signed P-256 certificate for 127.0.0.1 and localhost, made by openssl (as dcrd's
 * and dcrwallet's gencerts make theirs), valid one day. Tests of TLS clients make two: the
 * server's, and another one a client must refuse to trust.
 */
export const selfSignedCertificate = (): TestCertificate => {
  const dir = mkdtempSync(join(tmpdir(), "dcrforge-tls-"))
  try {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost"].concat([
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout",
        join(dir, "tls.key"),
        "-out",
        join(dir, "tls.cert"),
      ]),
      { stdio: "ignore" },
    )
    return { cert: readFileSync(join(dir, "tls.cert"), "utf8"), key: readFileSync(join(dir, "tls.key"), "utf8") }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
