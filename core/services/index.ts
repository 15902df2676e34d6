export * from "./chain.ts"
export * from "./listener.ts"
export * from "./wallet.ts"
