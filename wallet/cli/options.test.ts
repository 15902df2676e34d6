import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { parseStakeCli, walletConnection } from "./options.ts"

const files = (entries: Record<string, string>) => (path: string) => entries[path]
const parse = (argv: ReadonlyArray<string>, entries: Record<string, string> = {}) => parseStakeCli(argv, "/home/s", files(entries))
const messageOf = (r: Result.Result<unknown, { readonly message: string }>) => (Result.isFailure(r) ? r.failure.message : "succeeded")

describe("./dcrforge stake options (dcrctl's names)", () => {
  it("reads dcrctl.conf's [Application Options] and lets flags win", () => {
    const conf = "[Application Options]\n; a comment\nrpcuser=alice\nrpcpass=secret\nrpcserver=wallet.lan\ntestnet=1\nticketmaxprice=50\n"
    const cli = Result.getOrThrow(parse(["-u", "bob", "getstakeinfo"], { "/home/s/.dcrctl/dcrctl.conf": conf }))
    expect(cli.network.name).toBe("testnet3")
    expect(cli.values.get("rpcuser")).toBe("bob")
    expect(cli.values.get("ticketmaxprice")).toBe("50")
    expect(Result.getOrThrow(walletConnection(cli, "/home/s", () => undefined))).toEqual({
      url: "https://wallet.lan:19110",
      user: "bob",
      password: "secret",
      certificatePath: "/home/s/.dcrwallet/rpc.cert",
    })
  })

  it("defaults to localhost on the network's dcrwallet port; --walletrpcserver over --rpcserver; --notls is plain HTTP", () => {
    const at = (argv: ReadonlyArray<string>) => Result.getOrThrow(walletConnection(Result.getOrThrow(parse(["-u", "u", "-P", "p", ...argv, "getstakeinfo"])), "/h", () => undefined))
    expect(at([]).url).toBe("https://localhost:9110")
    expect(at(["--simnet"]).url).toBe("https://localhost:19557")
    expect(at(["-s", "a:1", "-w", "b:2"]).url).toBe("https://b:2")
    expect(at(["--notls", "--rpccert=/c"])).toMatchObject({ url: "http://localhost:9110", certificatePath: undefined })
  })

  it("takes options after the command as well, leaving its arguments alone", () => {
    const cli = Result.getOrThrow(parse(["--sim", "autobuy", "--dryrun", "--balancetomaintain", "100", "--ticketbuyer.limit=2"]))
    expect(cli).toMatchObject({ command: "autobuy", args: [], dryrun: true })
    expect(cli.values.get("ticketbuyer.limit")).toBe("2")
    expect(Result.getOrThrow(parse(["purchaseticket", "default", "-5", "-x", "--not-an-option"])).args).toEqual(["default", "-5", "-x", "--not-an-option"])
  })

  it("names what is wrong: unknown options, a missing config file, both networks, no credentials", () => {
    expect(messageOf(parse(["--rpcusr", "x"]))).toMatch(/unknown option --rpcusr/)
    expect(messageOf(parse(["-C", "/nope.conf", "getstakeinfo"]))).toMatch(/config file \/nope.conf .* does not exist/)
    expect(messageOf(parse(["getstakeinfo"], { "/home/s/.dcrctl/dcrctl.conf": "rpcuserr=x\n" }))).toMatch(/unknown option rpcuserr/)
    expect(messageOf(parse(["--testnet", "--simnet", "getstakeinfo"]))).toMatch(/can't be used together/)
    expect(messageOf(walletConnection(Result.getOrThrow(parse(["getstakeinfo"])), "/h", () => undefined))).toMatch(/--rpcuser and --rpcpass .* or --sim/)
  })

  it("--sim reads the endpoint ./dcrforge run wrote, over plain HTTP, on simnet", () => {
    const cli = Result.getOrThrow(parse(["--sim", "getstakeinfo"]))
    expect(cli.network.name).toBe("simnet")
    const written = `{"url":"http://127.0.0.1:4242","user":"demo","password":"pw","network":"simnet"}`
    expect(Result.getOrThrow(walletConnection(cli, "/h", files({ ".cache/demo/wallet-rpc.json": written })))).toEqual({
      url: "http://127.0.0.1:4242",
      user: "demo",
      password: "pw",
      certificatePath: undefined,
    })
  })
})
