import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { toHex } from "./bytes.ts"
import { decodeTx, decodeTxHex, decredTxid } from "./tx.ts"

// Real mainnet transactions and their txids, from dcrd's dcrutil/txsort/txsort_test.go (the
// "unsortedHash" of each case) and dcrutil/txsort/testdata/*.hex, at decred/dcrd commit
// 036b7090443145130ef74d5d83a0d1d575eb407a.
const MAINNET_TXS = [
  {
    name: "block 100004 tx[4] (tx100004-4.hex)",
    txid: "b0f540d02eb5cf030e14c08b3b0092648a87f4c6b141dcf34723815a1d01a975",
    hex: "010000000202b69f04b49f4a60d67d7603d275563c6b59419df19962204d5ee92c998e4b2b0000000000ffffffff25c710c00974fe6b25973768b1c1da7849cfbf7a8c1770b8b6cb0daca82ac8f00000000000ffffffff02ff01e3020000000000001976a914eeac5197b8570675c2195ec6fd1d371f4b6e8fdc88acb8c282090000000000001976a9146f1dd216165c70e21bcf2d0af5475a6dd719adfa88ac000000000000000002a1705e0200000000a0860100030000006a47304402200bce819c8b329643fec4fff02454d66fdbeda297a3ccdb2a2989907888f561c602203843993883b5cbda2e1a1440d284496dccb6b33bb2a65cdd5862305896a81fd20121033b4ac70a591739cd1dbbe84e778f3315f2fbb725cf18eab484630563cdcd8d1bceb80d0a000000008a860100080000006b483045022100c108408261cf0f06dccb1100c4c7b449a349afcf24c6a37de11fba9af30744db02204e29833d9cdd9fd28b445a06a3f0887bfc04cc89f666de5fc25cef6cc72ef6d9012102f7f9f0c8ab9eae959373368976536ad01e6dd5834d4d148d455cf057b3bd94b8",
  },
  {
    name: "block 100082 tx[5] (tx100082-5.hex)",
    txid: "765bb2f1fa79222ebc381b6e32a2996e73d5b0d01b443d871f04060def245dcd",
    hex: "010000000238640cf5a9145a6f500b46873aa9fd3a2dac848073c3ed54cdd7601a218311150000000000ffffffff38640cf5a9145a6f500b46873aa9fd3a2dac848073c3ed54cdd7601a218311150100000000ffffffff02614e310c0200000000001976a9142a2477b99d373bdacced385296aac3e460dcbe0488ac32c3d9360000000000001976a9142bfb1fb15fe42c05e6b6ebbb131c2f22ece400d988ac000000000000000002461cfd0402000000ef860100030000006a47304402203d35b91c1d3cba46ae309fe1ca587626a4b67ba18b23290f984f8387fb966cc60220599491381753aa037707f34f92bbbdcb0078ebf91afc48d5740210fe3c5c661a0121031c1bf96ee8411bf9c161b75d85f28c1477a614a329b98644f1b9557b6d1700a3055a143e00000000ef860100030000006b483045022100cc3933d9e353540c8f1408a113f98b0a33477503ec194e29b84b75f8c9c40f3902201b9c525f1dd0563d0264bbf732adba7b130baa603117ad90ce9d49a2652dd0ea012102eaa596fb5894c2860867fa97445e6be68a79f978f3060d2ae70d59b184de1e29",
  },
  {
    name: "block 101790 tx[3] (tx101790-3.hex)",
    txid: "832f1df32817e2f1a1c655c658c2c93926a79b4f3ecc0e8a1f9e4447d990c69d",
    hex: "01000000021cc18ddfbb9b9443cb99f47e42bd94a80565a4af55b61af74d6d947cd376a5b10000000001ffffffff6f26aa199ccc861398721ebef77df295177ab75f8525c30dc6a85dcd7f743fd80000000000ffffffff01c0131bc00000000000001976a914bda31b8a2ca698838a212093f14a92a7685824d788ac000000000000000002d0143cba00000000728b0100050000006b48304502210096c6a72dcd1624175db16edc90cd97d97b9aa1cc7a255385301212370a685899022008b15f7d0df7eccd6d0a53f0a05ace59864b34bc8c6b4e55e8ed4441b3290e4c012102a5a61606366ba5f99169f50253dadc906cd4efc5fe31f8fb09d0adeeafb5f6c83283e5050000000082890100070000006b48304502210081ede639fc933f4ca6845d8e063499684a170b2e1a1d12b90af7f21f03542b1802202e2ae968a0af6fdf5c05b3517d65f8344c32357888ce79e2f56bd4dd43985130012102a5a61606366ba5f99169f50253dadc906cd4efc5fe31f8fb09d0adeeafb5f6c8",
  },
] as const

const decodeProblem = (hex: string): string => {
  const r = decredTxid(hex)
  return Result.isFailure(r) ? r.failure.message : "decoded"
}

describe("Decred txid (dcrd MsgTx.TxHash)", () => {
  for (const tx of MAINNET_TXS) {
    it(`matches dcrd on mainnet ${tx.name}`, () => {
      expect(Result.getOrThrow(decredTxid(tx.hex))).toBe(tx.txid)
    })
  }

  it("gives the same txid for the prefix-only serialization, whose witness is not part of it", () => {
    const tx = MAINNET_TXS[0]
    const prefix = Result.getOrThrow(decodeTx(Buffer.from(tx.hex, "hex"))).prefix
    expect(toHex(prefix.subarray(0, 4))).toBe("01000100")
    expect(Result.getOrThrow(decredTxid(toHex(prefix)))).toBe(tx.txid)
  })

  it("refuses what dcrd's decoder refuses, saying where", () => {
    const hex: string = MAINNET_TXS[2].hex
    expect(decodeProblem(hex.slice(0, -2))).toBe("transaction: witness 1 script byte count 107 is more than the remaining bytes hold at byte 274 of 380")
    expect(decodeProblem(`${hex}00`)).toMatch(/trailing data \(1 bytes\) after the transaction/)
    expect(decodeProblem(`01000200${hex.slice(8)}`)).toMatch(/serialization type 2 carries no prefix/)
    expect(decodeProblem(`01000000fd0200${hex.slice(10)}`)).toMatch(/non-canonical input count at byte 7/)
    expect(decodeProblem("0100")).toMatch(/truncated version/)
    expect(decodeProblem("01000000ff")).toMatch(/truncated input count/)
    expect(decodeProblem("xyz")).toMatch(/odd number of digits/)
  })
})

describe("decodeTx: the prefix fields a voting service reads", () => {
  it("gives each input's previous outpoint and sequence, the lock time and the expiry", () => {
    const tx = Result.getOrThrow(decodeTxHex(MAINNET_TXS[2].hex))
    expect(tx.inputs).toEqual([
      { previousHash: "b1a576d37c946d4df71ab655afa46505a894bd427ef499cb43949bbbdf8dc11c", previousIndex: 0, previousTree: 1, sequence: 0xffffffff },
      { previousHash: "d83f747fcd5da8c60dc325855fb77a1795f27df7be1e72981386cc9c19aa266f", previousIndex: 0, previousTree: 0, sequence: 0xffffffff },
    ])
    expect(tx.inputCount).toBe(2)
    expect(tx.lockTime).toBe(0)
    expect(tx.expiry).toBe(0)
    expect(tx.inputValues).toEqual([0xba3c14d0n, 0x05e58332n])
  })
})
