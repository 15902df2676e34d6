import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { LineBudget, LineSplitter } from "./lines.ts"

const utf8 = new TextEncoder()

/** Every line the splitter gives for `chunks`, and whether it overflowed. */
const split = (maxBytes: number, chunks: ReadonlyArray<Uint8Array>) => {
  const splitter = new LineSplitter(maxBytes)
  const lines: Array<{ readonly text: string; readonly bytes: number }> = []
  for (const chunk of chunks) {
    splitter.push(chunk)
    for (let line = splitter.next(); line !== undefined; line = splitter.next()) lines.push(line)
    if (splitter.overflow) break
  }
  return { lines, overflow: splitter.overflow }
}

const cutAt = (bytes: Uint8Array, cuts: ReadonlyArray<number>) => {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let from = 0
  for (const cut of [...at, bytes.length]) {
    chunks.push(bytes.subarray(from, cut))
    from = cut
  }
  return chunks
}

describe("LineSplitter", () => {
  it("gives every line, blank ones too, with its size on the wire (LF or CRLF)", () => {
    const { lines, overflow } = split(2048, [utf8.encode('{"id":1}\r\n\n\r\n  \nélan\n{"id"'), utf8.encode(":2}\n")])
    expect(lines).toEqual([
      { text: '{"id":1}', bytes: 10 },
      { text: "", bytes: 1 },
      { text: "", bytes: 2 },
      { text: "  ", bytes: 3 },
      { text: "élan", bytes: 6 },
      { text: '{"id":2}', bytes: 9 },
    ])
    expect(overflow).toBe(false)
  })

  it("overflows on a line over the limit, terminated or not, and gives nothing after it", () => {
    expect(split(4, [utf8.encode("abcd\nabcde\nok\n")])).toEqual({ lines: [{ text: "abcd", bytes: 5 }], overflow: true })
    expect(split(4, [utf8.encode("ab"), utf8.encode("cde")])).toEqual({ lines: [], overflow: true })
    // The limit counts the line's bytes, a CR included, not its terminator.
    expect(split(4, [utf8.encode("abc\r\n")])).toEqual({ lines: [{ text: "abc", bytes: 5 }], overflow: false })
  })

  it("lets its reader stop in the middle of a chunk", () => {
    const splitter = new LineSplitter(2048)
    splitter.push(utf8.encode("\n".repeat(65_536)))
    expect(splitter.next()).toEqual({ text: "", bytes: 1 })
    // The rest of the chunk is left alone: a reader that closes the connection does no more work.
    splitter.push(utf8.encode("x\n"))
    expect(splitter.next()).toEqual({ text: "x", bytes: 2 })
  })

  it("property: however a stream is cut into chunks, the lines are those of the whole stream", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ unit: "grapheme", maxLength: 12 }), fc.constantFrom("", "\r", "é", "𝔇", "\ud800")), { maxLength: 12 }),
        fc.uint8Array({ maxLength: 16 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (texts, raw, cuts) => {
          const stream = new Uint8Array([...utf8.encode(texts.map((t) => `${t}\n`).join("")), ...raw, 10])
          const whole = split(64, [stream])
          expect(split(64, cutAt(stream, cuts))).toEqual(whole)
          // The sizes add up to the bytes read, up to the overflow.
          if (!whole.overflow) expect(whole.lines.reduce((n, l) => n + l.bytes, 0)).toBe(stream.length)
        },
      ),
    )
  })
})

describe("LineBudget", () => {
  const config = { messagesPerSecond: 20, messageBurst: 40, bytesPerMessage: 512 }

  it("charges one message per 512 bytes or part of them, so 2 KiB lines run out four times sooner", () => {
    const short = new LineBudget(config, 0)
    const long = new LineBudget(config, 0)
    const shortVerdicts = Array.from({ length: 40 }, () => short.charge(200, 0))
    const longVerdicts = Array.from({ length: 12 }, () => long.charge(2048, 0))
    expect(shortVerdicts.every((v) => v === "within")).toBe(true)
    expect(longVerdicts.filter((v) => v === "within")).toHaveLength(10)
    // 2,049 bytes are five messages: eight such lines take the whole burst.
    const odd = new LineBudget(config, 0)
    expect(Array.from({ length: 9 }, () => odd.charge(2049, 0)).filter((v) => v === "within")).toHaveLength(8)
  })

  it("a blank line costs a message; debt past the burst is over, past twice the burst a flood", () => {
    const budget = new LineBudget(config, 0)
    const verdicts = Array.from({ length: 121 }, () => budget.charge(1, 0))
    expect(verdicts.lastIndexOf("within")).toBe(39)
    expect(verdicts.slice(40, 120).every((v) => v === "over")).toBe(true)
    expect(verdicts[120]).toBe("flood")
  })

  it("refills with time, never above the burst", () => {
    const budget = new LineBudget(config, 0)
    for (let i = 0; i < 40; i++) budget.charge(1, 0)
    expect(budget.charge(1, 0)).toBe("over")
    // One second later: 20 messages back (one of them paying the debt just made).
    const after = Array.from({ length: 20 }, () => budget.charge(1, 1_000))
    expect(after.filter((v) => v === "within")).toHaveLength(19)
    // An hour of silence refills to the burst, not beyond.
    const rested = Array.from({ length: 41 }, () => budget.charge(1, 3_600_000))
    expect(rested.filter((v) => v === "within")).toHaveLength(40)
  })
})
