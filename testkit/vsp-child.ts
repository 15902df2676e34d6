/**
 * The voting service as a process of its own, for wallet/vsp/kill.test.ts: the production
 * assembly (`runVotingService`) on the embedded store in `<dir>`, over an in-memory dcrd and
 * fleet, on 127.0.0.1 at a free port. Prints `ready <url>` once it serves, then runs until it
 * is killed: the test kills it with SIGKILL in the middle of requests and starts it again on
 * the same directory.
 *
 *   node testkit/vsp-child.ts <dir>
 */
import { SIMNET } from "../core/chain/params.ts"
import { startTestService } from "./vsp.ts"

const dir = process.argv[2]
if (dir === undefined) throw new Error("usage: node testkit/vsp-child.ts <dir>")
const service = await startTestService({ network: SIMNET, dataDir: dir })
await service.poll()
process.stdout.write(`ready ${service.service.url}\n`)
// Serve until killed.
await new Promise(() => undefined)
