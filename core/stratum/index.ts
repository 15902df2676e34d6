export * from "./difficulty.ts"
export * from "./profiles.ts"
export * from "./protocol.ts"
export * from "./work.ts"
