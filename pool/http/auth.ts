import { Redacted } from "effect"
import { createHmac, randomBytes, scrypt, scryptSync, timingSafeEqual } from "node:crypto"

/**
 * The web UI's security pieces: the admin password kept only as a salted scrypt hash, admin
 * sessions with their CSRF tokens, trusted-device cookies, and per-client rate limits. Session ids, CSRF tokens and
 * salts come from node:crypto, not the Effect `Random` (which is seeded in simulations):
 * a guessable session id would be a way in.
 */

// ---- password ------------------------------------------------------------------------------

/** scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB, tens of ms: cheap once per login, dear per guess). */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, keyLength: 32, maxmem: 64 * 1024 * 1024 } as const
const HASH_PREFIX = "scrypt$"

/** `scrypt$N$r$p$salt$hash` (salt and hash base64url): what `--adminpass` may hold instead of the password. */
export const hashPassword = (password: string, salt: Buffer = randomBytes(16)): string => {
  const key = scryptSync(password, salt, SCRYPT.keyLength, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: SCRYPT.maxmem })
  return `${HASH_PREFIX}${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString("base64url")}$${key.toString("base64url")}`
}

export const isPasswordHash = (text: string): boolean => text.startsWith(HASH_PREFIX)

/** A password hash, parsed; the check runs against it. */
export interface PasswordHash {
  readonly N: number
  readonly r: number
  readonly p: number
  readonly salt: Buffer
  readonly key: Buffer
}

export const parsePasswordHash = (text: string): PasswordHash | string => {
  const parts = text.split("$")
  if (parts.length !== 6 || parts[0] !== "scrypt") return "is not a password hash (scrypt$N$r$p$salt$hash)"
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])]
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0) || (N & (N - 1)) !== 0 || N > 1 << 20 || r > 32 || p > 16) {
    return "has scrypt parameters out of range (N a power of two up to 2^20, r up to 32, p up to 16)"
  }
  const salt = Buffer.from(parts[4] ?? "", "base64url")
  const key = Buffer.from(parts[5] ?? "", "base64url")
  if (salt.length < 8 || key.length < 16) return "has a salt or hash too short to be one made by `hashPassword`"
  return { N, r, p, salt, key }
}

/**
 * The admin secret as the server keeps it: a configured hash as given, a plaintext password
 * hashed at start (so the plaintext is not kept past start-up).
 */
export const adminPasswordHash = (configured: Redacted.Redacted<string>): PasswordHash | string => {
  const text = Redacted.value(configured)
  return parsePasswordHash(isPasswordHash(text) ? text : hashPassword(text))
}

/**
 * Checks a password against the hash. Asynchronous: scrypt runs on libuv's thread pool (about
 * 0.1 s a check), so a login does not stall the event loop that serves miners' pages and the API.
 */
export const verifyPassword = (hash: PasswordHash, given: string): Promise<boolean> =>
  new Promise((resolve) => {
    scrypt(given, hash.salt, hash.key.length, { N: hash.N, r: hash.r, p: hash.p, maxmem: 128 * hash.N * hash.r * 2 }, (error, key) => resolve(error === null && timingSafeEqual(key, hash.key)))
  })

// ---- sessions ----------------------------------------------------------------------------------

export interface WebSession {
  readonly id: string
  readonly csrf: string
  readonly admin: boolean
  readonly expiresMs: number
}

export const SESSION_COOKIE = "dcrforge_session"

const token = (): string => randomBytes(32).toString("base64url")

/**
 * Sessions in memory (an admin logs in again after a restart). Anyone who opens the login form
 * gets an anonymous session, so the login form carries a CSRF token too; logging in replaces
 * it with a new id (no fixation). Anonymous and admin sessions are held apart, each up to its
 * own capacity with the oldest dropped first, so a flood of login-form visits cannot push an
 * admin out.
 */
export const makeSessions = (options: { readonly lifetimeMs: number; readonly capacity: number; readonly adminCapacity?: number; readonly now: () => number }) => {
  const anonymous = new Map<string, WebSession>()
  const admins = new Map<string, WebSession>()
  const put = (admin: boolean): WebSession => {
    const session = { id: token(), csrf: token(), admin, expiresMs: options.now() + options.lifetimeMs }
    const into = admin ? admins : anonymous
    into.set(session.id, session)
    const capacity = admin ? (options.adminCapacity ?? 64) : options.capacity
    while (into.size > capacity) into.delete(into.keys().next().value!)
    return session
  }
  const get = (id: string | undefined): WebSession | undefined => {
    if (id === undefined) return undefined
    const session = admins.get(id) ?? anonymous.get(id)
    if (session === undefined) return undefined
    if (session.expiresMs <= options.now()) {
      admins.delete(id)
      anonymous.delete(id)
      return undefined
    }
    return session
  }
  return {
    get,
    anonymous: () => put(false),
    /** A fresh admin session in place of `previous`. */
    promote: (previous: WebSession): WebSession => {
      anonymous.delete(previous.id)
      admins.delete(previous.id)
      return put(true)
    },
    end: (id: string) => void (admins.delete(id), anonymous.delete(id)),
    lifetimeMs: options.lifetimeMs,
  }
}

/** Compares a submitted CSRF token with the session's in constant time. */
export const csrfMatches = (session: WebSession, given: string | null | undefined): boolean => {
  if (given === null || given === undefined) return false
  const a = Buffer.from(session.csrf)
  const b = Buffer.from(given)
  return a.length === b.length && timingSafeEqual(a, b)
}

export const parseCookies = (header: string | undefined): ReadonlyMap<string, string> => {
  const cookies = new Map<string, string>()
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=")
    if (eq > 0) cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
  }
  return cookies
}

export const sessionCookie = (session: WebSession, lifetimeMs: number, secure: boolean): string =>
  `${SESSION_COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(lifetimeMs / 1000)}${secure ? "; Secure" : ""}`

export const clearedSessionCookie = (secure: boolean): string => `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? "; Secure" : ""}`

// ---- trusted devices -----------------------------------------------------------------------

export const DEVICE_COOKIE = "dcrforge_device"

/**
 * "This browser logged in as admin before": a signed cookie set at each successful login
 * (OWASP's device cookie). It grants nothing by itself; it only moves the browser's login
 * attempts to a throttle of their own, so strangers' wrong guesses (from the admin's own NAT, or
 * from everywhere at once) cannot lock out a browser that has logged in before.
 *
 * The value is `<random id>.<expiry, Unix seconds>.<HMAC-SHA256>`; the HMAC key is derived from
 * the password hash, so nothing is stored, forging one needs the hash, a new password voids
 * every device, and with a configured `scrypt$` hash devices stay trusted across restarts (a
 * plaintext --adminpass is hashed with a fresh salt at each start, which voids them).
 */
export const makeTrustedDevices = (password: PasswordHash, options: { readonly lifetimeMs: number; readonly now: () => number }) => {
  const key = createHmac("sha256", password.key).update("dcrforge trusted-device cookie v1").digest()
  const mac = (body: string): Buffer => createHmac("sha256", key).update(body).digest()
  return {
    /** A new device cookie's value, valid for the lifetime from now. */
    issue: (): string => {
      const body = `${randomBytes(16).toString("base64url")}.${Math.floor((options.now() + options.lifetimeMs) / 1000)}`
      return `${body}.${mac(body).toString("base64url")}`
    },
    /** The device id a cookie value proves, or undefined when it is missing, altered, forged or expired. */
    verify: (value: string | undefined): string | undefined => {
      if (value === undefined) return undefined
      const parts = value.split(".")
      if (parts.length !== 3) return undefined
      const [id, expires, signature] = parts as [string, string, string]
      const given = Buffer.from(signature, "base64url")
      const expected = mac(`${id}.${expires}`)
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
      return Number(expires) * 1000 > options.now() ? id : undefined
    },
    lifetimeMs: options.lifetimeMs,
  }
}

/** Sent only to /admin/... (the login form and the backup), never readable by script. */
export const deviceCookie = (value: string, lifetimeMs: number, secure: boolean): string =>
  `${DEVICE_COOKIE}=${value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(lifetimeMs / 1000)}${secure ? "; Secure" : ""}`

// ---- rate limits ----------------------------------------------------------------------------

export interface RateLimit {
  /** Requests allowed in a burst. */
  readonly burst: number
  /** Requests per second refilled. */
  readonly perSecond: number
}

/**
 * A token bucket per client key. `take` answers undefined when the request may go ahead, or the
 * whole seconds to wait (for Retry-After). Buckets that filled up again are forgotten, so the
 * map holds only recently busy clients.
 */
export const makeRateLimiter = (limit: RateLimit, now: () => number) => {
  const buckets = new Map<string, { tokens: number; atMs: number }>()
  let lastSweepMs = now()
  return {
    take: (key: string): number | undefined => {
      const t = now()
      if (t - lastSweepMs > 60_000) {
        lastSweepMs = t
        for (const [k, b] of buckets) if (b.tokens + ((t - b.atMs) / 1000) * limit.perSecond >= limit.burst) buckets.delete(k)
      }
      const bucket = buckets.get(key) ?? { tokens: limit.burst, atMs: t }
      bucket.tokens = Math.min(limit.burst, bucket.tokens + ((t - bucket.atMs) / 1000) * limit.perSecond)
      bucket.atMs = t
      buckets.set(key, bucket)
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1
        return undefined
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond))
    },
  }
}
