import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { encodeAddress } from "../chain/address.ts"
import { hexToBytes } from "../chain/bytes.ts"
import { MAINNET, NETWORKS, SIMNET, type NetworkName } from "../chain/params.ts"
import { decodeTxHex } from "../chain/tx.ts"
import { paidTo, parseTicket, TicketParseError, type ParsedTicket } from "./ticket.ts"

/** Real tickets, each read by dcrd's own stake.IsSStx, TxHash and commitment decoding (scenarios/simnet/tools/vsp-vectors). */
interface TicketVector {
  readonly network: NetworkName
  readonly hex: string
  readonly isSStx: boolean
  readonly hash: string
  readonly price: string
  readonly votingAddress: string
  readonly commitmentAddress: string
  readonly commitmentAmount: string
}
const tickets: ReadonlyArray<TicketVector> = JSON.parse(readFileSync(join(import.meta.dirname, "keys.vectors.json"), "utf8")).tickets

const simnetTicket = tickets.find((t) => t.network === "simnet")!

/**
 * The ticket as a two-buyer (split) ticket, prefix-only: its input twice, its commitment and
 * change twice. dcrd's CheckSStx takes it; vspd does not.
 */
const splitTicket = (hex: string): string => {
  const tx = Result.getOrThrow(decodeTxHex(hex))
  const [start, end] = tx.outputSpan.map((b) => 2 * b) as [number, number]
  const input = hex.slice(10, start)
  const outputs = hex.slice(start + 2, end)
  const output0Length = 2 * (8 + 2 + 1 + tx.outputs[0]!.pkScript.length)
  const rest = outputs.slice(output0Length)
  return `0100010002${input}${input}05${outputs}${rest}${hex.slice(end, end + 16)}`
}

const problemOf = (hex: string, network = SIMNET): string => {
  const r = parseTicket(hex, network)
  if (Result.isSuccess(r)) return "parsed"
  // The stake rules fail with TicketParseError; bytes that are no transaction keep the decoder's error.
  expect(r.failure._tag).toBe(r.failure.message.startsWith("not a ticket") || r.failure.message.includes("commitment") ? "TicketParseError" : "TxDecodeError")
  if (r.failure._tag === "TicketParseError") expect(r.failure).toBeInstanceOf(TicketParseError)
  return r.failure.message
}

// A mainnet payment (dcrd dcrutil/txsort testdata tx101790-3.hex): one P2PKH output of
// 32.21952448 DCR to hash160 bda31b8a2ca698838a212093f14a92a7685824d7.
const PAYMENT_HEX =
  "01000000021cc18ddfbb9b9443cb99f47e42bd94a80565a4af55b61af74d6d947cd376a5b10000000001ffffffff6f26aa199ccc861398721ebef77df295177ab75f8525c30dc6a85dcd7f743fd80000000000ffffffff01c0131bc00000000000001976a914bda31b8a2ca698838a212093f14a92a7685824d788ac000000000000000002d0143cba00000000728b0100050000006b48304502210096c6a72dcd1624175db16edc90cd97d97b9aa1cc7a255385301212370a685899022008b15f7d0df7eccd6d0a53f0a05ace59864b34bc8c6b4e55e8ed4441b3290e4c012102a5a61606366ba5f99169f50253dadc906cd4efc5fe31f8fb09d0adeeafb5f6c83283e5050000000082890100070000006b48304502210081ede639fc933f4ca6845d8e063499684a170b2e1a1d12b90af7f21f03542b1802202e2ae968a0af6fdf5c05b3517d65f8344c32357888ce79e2f56bd4dd43985130012102a5a61606366ba5f99169f50253dadc906cd4efc5fe31f8fb09d0adeeafb5f6c8"
const PAYMENT_TXID = "832f1df32817e2f1a1c655c658c2c93926a79b4f3ecc0e8a1f9e4447d990c69d"
const PAYEE = encodeAddress("p2pkh-ecdsa-secp256k1", hexToBytes("bda31b8a2ca698838a212093f14a92a7685824d7"), MAINNET)

describe("tickets, read as dcrd's CheckSStx and vspd read them", () => {
  it("reads every real ticket as dcrd does: hash, price, voting address, commitment address and amount", () => {
    expect(tickets.map((t) => t.network)).toEqual(["simnet", "simnet", "mainnet"])
    for (const t of tickets) {
      expect(t.isSStx).toBe(true)
      const expected: ParsedTicket = {
        hash: t.hash,
        price: BigInt(t.price),
        votingAddress: t.votingAddress,
        commitmentAddress: t.commitmentAddress,
        commitmentAmount: BigInt(t.commitmentAmount),
        feeLimits: 0x5800,
      }
      expect(Result.getOrThrow(parseTicket(t.hex, NETWORKS[t.network]))).toEqual(expected)
    }
  })

  it("reads a commitment with the P2SH flag bit as a P2SH address and clears the bit from the amount", () => {
    // The commitment's amount is the 8 bytes after the 20-byte hash; its top byte is the 8th.
    const commitmentAt = simnetTicket.hex.indexOf("206a1e") + 6
    const topByteAt = commitmentAt + 40 + 14
    const hex = `${simnetTicket.hex.slice(0, topByteAt)}80${simnetTicket.hex.slice(topByteAt + 2)}`
    const ticket = Result.getOrThrow(parseTicket(hex, SIMNET))
    expect(ticket.commitmentAddress.startsWith("Sc")).toBe(true)
    expect(ticket.commitmentAmount).toBe(BigInt(simnetTicket.commitmentAmount))
  })

  it("refuses transactions that are no ticket, or a ticket vspd would not take, saying why", () => {
    const hex = simnetTicket.hex
    expect(problemOf(PAYMENT_HEX, MAINNET)).toMatch(/output 0 is not an OP_SSTX-tagged/)
    expect(problemOf(hex.replace("1aba76a914", "1abb76a914"))).toMatch(/output 0 is not an OP_SSTX-tagged/)
    expect(problemOf(hex.replace("206a1e", "206a1f"))).toMatch(/output 1 is not an OP_RETURN commitment/)
    expect(problemOf(hex.replace("1abd76a914", "1abe76a914"))).toMatch(/output 2 is not an OP_SSTXCHANGE/)
    expect(problemOf(hex.replace("0000206a1e", "0100206a1e"))).toMatch(/script version is not 0/)
    expect(problemOf(hex.slice(0, -2))).toMatch(/^transaction: /)
    expect(problemOf(splitTicket(hex))).toMatch(/5 outputs \(2 commitments\): a voting service takes only tickets with one commitment/)
    expect(problemOf("zz")).toMatch(/not hex/)
  })
})

describe("fee transactions: what one pays the fee address, as vspd's payfee reads it", () => {
  it("gives the paying output's value and the transaction's hash", () => {
    expect(Result.getOrThrow(paidTo(PAYMENT_HEX, PAYEE, MAINNET))).toEqual({ txHash: PAYMENT_TXID, paid: 0xc01b13c0n })
  })

  it("counts nothing paid to another address, and refuses another network's address or a bad transaction", () => {
    const other = encodeAddress("p2pkh-ecdsa-secp256k1", new Uint8Array(20).fill(7), MAINNET)
    expect(Result.getOrThrow(paidTo(PAYMENT_HEX, other, MAINNET)).paid).toBe(0n)
    // The same hash as a P2SH address is another script.
    const asP2sh = encodeAddress("p2sh", hexToBytes("bda31b8a2ca698838a212093f14a92a7685824d7"), MAINNET)
    expect(Result.getOrThrow(paidTo(PAYMENT_HEX, asP2sh, MAINNET)).paid).toBe(0n)
    expect(Result.isFailure(paidTo(PAYMENT_HEX, PAYEE, SIMNET))).toBe(true)
    expect(Result.isFailure(paidTo(PAYMENT_HEX.slice(2), PAYEE, MAINNET))).toBe(true)
  })
})
