/**
 * The standalone agent program (`node knot-agent.js [flags]`, bundled by scripts/build-agent.mjs
 * for spaces to download): exactly the `knot agent` command, without the rest of knot. It lives in
 * cli/ because it reuses that command's definition and agent/ may not import cli/; copying the
 * flags here would let the two drift apart.
 */
import { Command } from 'commander';
import { registerAgentCommand } from './agent-command';

const knot = new Command('knot');
registerAgentCommand(knot);
const agent = knot.commands.find((c) => c.name() === 'agent');
if (!agent) throw new Error('registerAgentCommand did not register `agent`');
// detached from `knot`, so usage and errors name this program, not `knot agent`
agent.parent = null;
agent.name('knot-agent');
agent.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`knot-agent: ${(e as Error).message}\n`);
  process.exit(1);
});
