// The stratum difficulty unit, shared by the pool, its accounting and the miner emulators.
// Difficulty 1 is the network's proof-of-work limit as a target (what Decred miners divide
// by `mining.set_difficulty`'s value); difficulty d is powLimit / d. Everything that turns a
// difficulty into a target, a target into a difficulty, or either into expected hashes does it
// here, so pool and miners cannot drift apart.

/**
 * Share and network difficulties as exact integers: difficulty x DIFFICULTY_SCALE. The pool
 * hands out whole share difficulties, but network difficulty (powLimit / target) and a share
 * capped at it are fractional; 2^32 sub-units keep them exact enough, and the payout arithmetic
 * stays in bigint.
 */
export const DIFFICULTY_SCALE = 1n << 32n

const TWO_256 = 1n << 256n

/**
 * Hashes difficulty 1 takes on average: 2^256 / (powLimit + 1), which is 2^(256 - bitlen(powLimit))
 * for the networks' limits (2^32 on mainnet, 2 on simnet).
 */
export const hashesPerUnitDifficulty = (powLimit: bigint): bigint => TWO_256 / (powLimit + 1n)

/** The target a share of `difficulty` (DIFFICULTY_SCALE units) must meet: powLimit / difficulty, exactly. */
export const shareTarget = (powLimit: bigint, difficulty: bigint): bigint => (powLimit * DIFFICULTY_SCALE) / difficulty

/** The difficulty (DIFFICULTY_SCALE units) of a target, the network's included: powLimit / target. */
export const difficultyOfTarget = (powLimit: bigint, target: bigint): bigint => (powLimit * DIFFICULTY_SCALE) / target

/** A target's difficulty as a plain number, for figures shown to people (metrics, charts), never for money. */
export const difficultyNumberOfTarget = (powLimit: bigint, target: bigint): number => Number(difficultyOfTarget(powLimit, target)) / Number(DIFFICULTY_SCALE)

/** The share target a miner derives from a whole difficulty: the proof-of-work limit divided by it. */
export const minerShareTarget = (powLimit: bigint, wholeDifficulty: bigint): bigint => powLimit / wholeDifficulty

/** Expected hashes for a share at `target`: 2^256 over the number of hashes that meet it. A float: it only drives draws. */
export const expectedHashesForTarget = (target: bigint): number => 2 ** 256 / Number(target + 1n)

/**
 * Expected hashes for a share at `difficulty` (DIFFICULTY_SCALE units) when difficulty 1 takes
 * `hashesPerUnit`; a float, for rates shown or compared, never for money.
 */
export const expectedHashesAtDifficulty = (difficulty: bigint, hashesPerUnit: bigint): number => (Number(difficulty) / Number(DIFFICULTY_SCALE)) * Number(hashesPerUnit)

/** The difficulty (DIFFICULTY_SCALE units, rounded down) at which a share takes `hashes` on average. */
export const difficultyForHashes = (hashes: bigint, hashesPerUnit: bigint): bigint => (hashes * DIFFICULTY_SCALE) / hashesPerUnit
