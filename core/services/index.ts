export * from "./chain.ts"
export * from "./listener.ts"
