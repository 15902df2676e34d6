import { type AgendaTable, MAINNET_AGENDAS, REGNET_AGENDAS, SIMNET_AGENDAS, TESTNET3_AGENDAS } from "./agendas.ts"

export const NETWORK_NAMES = ["mainnet", "testnet3", "simnet", "regnet"] as const
export type NetworkName = (typeof NETWORK_NAMES)[number]

/** Two-byte base58 prefixes of the address kinds a network knows (dcrd `chaincfg`). */
export interface AddressPrefixes {
  /** Pay to secp256k1 public key (`Dk`, `Tk`, `Sk`, `Rk`). */
  readonly pubKey: number
  /** Pay to secp256k1 ECDSA public-key hash, the ordinary address (`Ds`, `Ts`, `Ss`, `Rs`). */
  readonly pubKeyHash: number
  /** Pay to Ed25519 public-key hash (`De`, ...). */
  readonly pubKeyHashEd25519: number
  /** Pay to secp256k1 Schnorr public-key hash (`DS`, ...). */
  readonly pubKeyHashSchnorr: number
  /** Pay to script hash (`Dc`, `Tc`, `Sc`, `Rc`). */
  readonly scriptHash: number
  /** WIF private keys (`Pm`, `Pt`, `Ps`, `Pr`): recognised so that pasting one is refused by name. */
  readonly privateKey: number
}

interface NetworkPorts {
  readonly p2p: number
  readonly dcrdRpc: number
  /** dcrwallet JSON-RPC; dcrwallet has no regnet configuration. */
  readonly walletRpc: number | undefined
  readonly walletGrpc: number | undefined
}

/**
 * Every consensus parameter this project uses, per network, as dcrd's
 * `chaincfg/*params.go` sets it. Atom amounts and 256-bit values are bigint.
 */
export interface NetworkParams {
  readonly name: NetworkName
  /** The wire magic, which also tells networks apart in logs. */
  readonly netMagic: number
  readonly genesis: {
    /** The serialized 180-byte genesis header (hex). */
    readonly headerHex: string
    /** Display-order block hash of the genesis block. */
    readonly hash: string
  }
  readonly ports: NetworkPorts
  readonly addressPrefixes: AddressPrefixes
  /**
   * Four-byte version prefixes of serialized BIP32 extended keys (dcrd `chaincfg` HDPublicKeyID /
   * HDPrivateKeyID, as big-endian numbers): `dpub`/`dprv`, `tpub`/`tprv`, `spub`/`sprv`, `rpub`/`rprv`.
   * A voting service derives its fee addresses from an extended public key.
   */
  readonly hdKeyIds: { readonly public: number; readonly private: number }
  readonly generateSupported: boolean

  // Proof of work
  readonly powLimit: bigint
  readonly powLimitBits: number
  /** Seconds. */
  readonly targetTimePerBlock: number
  readonly workDiffAlpha: number
  readonly workDiffWindowSize: number
  readonly workDiffWindows: number
  /** Seconds: targetTimePerBlock * workDiffWindowSize. */
  readonly targetTimespan: number
  readonly retargetAdjustmentFactor: number
  readonly reduceMinDifficulty: boolean
  /** Seconds; only meaningful with reduceMinDifficulty. */
  readonly minDiffReductionTime: number
  readonly workDiffV2Blake3StartBits: number
  readonly workDiffV2HalfLifeSecs: number
  /**
   * Height of the ASERT anchor block where BLAKE3 activated by vote (the block before
   * activation); undefined where the agenda is forced (block 1 anchors) or not yet known.
   */
  readonly blake3AnchorHeight: number | undefined

  // Blocks and subsidy
  readonly maximumBlockSizes: ReadonlyArray<number>
  readonly maxTxSize: number
  readonly coinbaseMaturity: number
  readonly subsidyReductionInterval: number
  readonly baseSubsidy: bigint
  readonly mulSubsidy: bigint
  readonly divSubsidy: bigint
  /** Sum of the block-1 ledger ("premine"), paid by block 1 instead of a subsidy. */
  readonly blockOneSubsidy: bigint
  readonly workRewardProportion: number
  readonly stakeRewardProportion: number
  readonly blockTaxProportion: number

  // Stake
  readonly minimumStakeDiff: bigint
  readonly ticketPoolSize: number
  readonly ticketsPerBlock: number
  readonly ticketMaturity: number
  readonly ticketExpiry: number
  readonly sstxChangeMaturity: number
  readonly ticketPoolSizeWeight: number
  readonly stakeDiffAlpha: number
  readonly stakeDiffWindowSize: number
  readonly stakeDiffWindows: number
  readonly stakeVersionInterval: number
  readonly maxFreshStakePerBlock: number
  readonly stakeEnabledHeight: number
  readonly stakeValidationHeight: number
  readonly stakeMajorityMultiplier: number
  readonly stakeMajorityDivisor: number

  // Rule changes
  readonly ruleChangeActivationQuorum: number
  readonly ruleChangeActivationMultiplier: number
  readonly ruleChangeActivationDivisor: number
  readonly ruleChangeActivationInterval: number
  readonly agendas: AgendaTable
}

const shared = {
  workDiffAlpha: 1,
  retargetAdjustmentFactor: 4,
  mulSubsidy: 100n,
  divSubsidy: 101n,
  workRewardProportion: 6,
  stakeRewardProportion: 3,
  blockTaxProportion: 1,
  ticketsPerBlock: 5,
  maxFreshStakePerBlock: 20,
  sstxChangeMaturity: 1,
  ticketPoolSizeWeight: 4,
  stakeDiffAlpha: 1,
  stakeMajorityMultiplier: 3,
  stakeMajorityDivisor: 4,
  ruleChangeActivationMultiplier: 3,
  ruleChangeActivationDivisor: 4,
} as const

export const MAINNET: NetworkParams = {
  ...shared,
  name: "mainnet",
  netMagic: 0xd9b400f9,
  genesis: {
    headerHex:
      "0100000000000000000000000000000000000000000000000000000000000000000000000dc101dfc3c6a2eb10ca0c5374e10d28feb53f7eabcc850511ceadb99174aa66000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000ffff011b00c2eb0b000000000000000000000000a0d7b85600000000000000000000000000000000000000000000000000000000000000000000000000000000",
    hash: "298e5cc3d985bfe7f81dc135f360abe089edd4396b86d2de66b0cef42b21d980",
  },
  ports: { p2p: 9108, dcrdRpc: 9109, walletRpc: 9110, walletGrpc: 9111 },
  addressPrefixes: {
    pubKey: 0x1386,
    pubKeyHash: 0x073f,
    pubKeyHashEd25519: 0x071f,
    pubKeyHashSchnorr: 0x0701,
    scriptHash: 0x071a,
    privateKey: 0x22de,
  },
  hdKeyIds: { public: 0x02fda926, private: 0x02fda4e8 },
  generateSupported: false,
  powLimit: (1n << 224n) - 1n,
  powLimitBits: 0x1d00ffff,
  targetTimePerBlock: 300,
  workDiffWindowSize: 144,
  workDiffWindows: 20,
  targetTimespan: 300 * 144,
  reduceMinDifficulty: false,
  minDiffReductionTime: 0,
  workDiffV2Blake3StartBits: 0x1b00a5a6,
  workDiffV2HalfLifeSecs: 43200,
  blake3AnchorHeight: 794367,
  maximumBlockSizes: [393216],
  maxTxSize: 393216,
  coinbaseMaturity: 256,
  subsidyReductionInterval: 6144,
  baseSubsidy: 3119582664n,
  blockOneSubsidy: 168000000000000n,
  minimumStakeDiff: 200000000n,
  ticketPoolSize: 8192,
  ticketMaturity: 256,
  ticketExpiry: 40960,
  stakeDiffWindowSize: 144,
  stakeDiffWindows: 20,
  stakeVersionInterval: 2016,
  stakeEnabledHeight: 512,
  stakeValidationHeight: 4096,
  ruleChangeActivationQuorum: 4032,
  ruleChangeActivationInterval: 8064,
  agendas: MAINNET_AGENDAS,
}

export const TESTNET3: NetworkParams = {
  ...shared,
  name: "testnet3",
  netMagic: 0xb194aa75,
  genesis: {
    headerHex:
      "0600000000000000000000000000000000000000000000000000000000000000000000002c0ad603d44a16698ac951fa22aab5e7b30293fa1d0ac72560cdfcc9eabcdfe7000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000ffff001e002d3101000000000000000000000000808f675b1aa4ae18000000000000000000000000000000000000000000000000000000000000000006000000",
    hash: "a649dce53918caf422e9c711c858837e08d626ecfcd198969b24f7b634a49bac",
  },
  ports: { p2p: 19108, dcrdRpc: 19109, walletRpc: 19110, walletGrpc: 19111 },
  addressPrefixes: {
    pubKey: 0x28f7,
    pubKeyHash: 0x0f21,
    pubKeyHashEd25519: 0x0f01,
    pubKeyHashSchnorr: 0x0ee3,
    scriptHash: 0x0efc,
    privateKey: 0x230e,
  },
  hdKeyIds: { public: 0x043587d1, private: 0x04358397 },
  generateSupported: true,
  powLimit: (1n << 232n) - 1n,
  powLimitBits: 0x1e00ffff,
  targetTimePerBlock: 120,
  workDiffWindowSize: 144,
  workDiffWindows: 20,
  targetTimespan: 120 * 144,
  reduceMinDifficulty: true,
  minDiffReductionTime: 600,
  workDiffV2Blake3StartBits: 0x1e00ffff,
  workDiffV2HalfLifeSecs: 720,
  blake3AnchorHeight: 1170047,
  maximumBlockSizes: [1310720],
  maxTxSize: 1000000,
  coinbaseMaturity: 16,
  subsidyReductionInterval: 2048,
  baseSubsidy: 2500000000n,
  blockOneSubsidy: 10000000000000n,
  minimumStakeDiff: 20000000n,
  ticketPoolSize: 1024,
  ticketMaturity: 16,
  ticketExpiry: 6144,
  stakeDiffWindowSize: 144,
  stakeDiffWindows: 20,
  stakeVersionInterval: 2016,
  stakeEnabledHeight: 32,
  stakeValidationHeight: 768,
  ruleChangeActivationQuorum: 2520,
  ruleChangeActivationInterval: 5040,
  agendas: TESTNET3_AGENDAS,
}

/** simnet and regnet share everything but identity, prefixes, ports and agenda treatment. */
const localTestNet = {
  ...shared,
  generateSupported: true,
  powLimit: (1n << 255n) - 1n,
  powLimitBits: 0x207fffff,
  targetTimePerBlock: 1,
  workDiffWindowSize: 8,
  workDiffWindows: 4,
  targetTimespan: 8,
  reduceMinDifficulty: false,
  minDiffReductionTime: 0,
  workDiffV2Blake3StartBits: 0x207fffff,
  workDiffV2HalfLifeSecs: 6,
  blake3AnchorHeight: undefined,
  maximumBlockSizes: [1000000, 1310720],
  maxTxSize: 1000000,
  coinbaseMaturity: 16,
  subsidyReductionInterval: 128,
  baseSubsidy: 50000000000n,
  blockOneSubsidy: 30000000000000n,
  minimumStakeDiff: 20000n,
  ticketPoolSize: 64,
  ticketMaturity: 16,
  ticketExpiry: 384,
  stakeDiffWindowSize: 8,
  stakeDiffWindows: 8,
  stakeVersionInterval: 112,
  stakeEnabledHeight: 32,
  stakeValidationHeight: 144,
  ruleChangeActivationQuorum: 160,
  ruleChangeActivationInterval: 320,
} as const

export const SIMNET: NetworkParams = {
  ...localTestNet,
  name: "simnet",
  netMagic: 0x12141c16,
  genesis: {
    headerHex:
      "010000000000000000000000000000000000000000000000000000000000000000000000925629c5582bbfc3609d71a2f4a887443c80d54a1fe31e95e95d42f3e288945c000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000ffff7f20000000000000000000000000000000004506865300000000000000000000000000000000000000000000000000000000000000000000000000000000",
    hash: "6bef82c645999585f7255cb02672921ac2f5492820090cd635fe3a59d16b4f87",
  },
  ports: { p2p: 18555, dcrdRpc: 19556, walletRpc: 19557, walletGrpc: 19558 },
  addressPrefixes: {
    pubKey: 0x276f,
    pubKeyHash: 0x0e91,
    pubKeyHashEd25519: 0x0e71,
    pubKeyHashSchnorr: 0x0e53,
    scriptHash: 0x0e6c,
    privateKey: 0x2307,
  },
  hdKeyIds: { public: 0x0420bd3d, private: 0x0420b903 },
  agendas: SIMNET_AGENDAS,
}

export const REGNET: NetworkParams = {
  ...localTestNet,
  name: "regnet",
  netMagic: 0xdab500fa,
  genesis: {
    headerHex:
      "0100000000000000000000000000000000000000000000000000000000000000000000000dc101dfc3c6a2eb10ca0c5374e10d28feb53f7eabcc850511ceadb99174aa66000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000ffff7f20000000000000000000000000000000008006b45b00000000000000000000000000000000000000000000000000000000000000000000000000000000",
    hash: "2ced94b4ae95bba344cfa043268732d230649c640f92dce2d9518823d3057cb0",
  },
  ports: { p2p: 18655, dcrdRpc: 18656, walletRpc: undefined, walletGrpc: undefined },
  addressPrefixes: {
    pubKey: 0x25e5,
    pubKeyHash: 0x0e00,
    pubKeyHashEd25519: 0x0de0,
    pubKeyHashSchnorr: 0x0dc2,
    scriptHash: 0x0ddb,
    privateKey: 0x22fe,
  },
  hdKeyIds: { public: 0xeab4f987, private: 0xeab40448 },
  agendas: REGNET_AGENDAS,
}

export const NETWORKS: { readonly [K in NetworkName]: NetworkParams } = {
  mainnet: MAINNET,
  testnet3: TESTNET3,
  simnet: SIMNET,
  regnet: REGNET,
}
