/**
 * The real Nomad agent for the lifecycle tier: started from KNOT_NOMAD_BIN / KNOT_CSI_HOSTPATH_BIN
 * (tests/nomad/agent.ts), or one already running — KNOT_TEST_NOMAD_ADDR with
 * KNOT_TEST_NOMAD_CSI_STATE_DIR (its hostpath plugin's --statedir) — which saves the agent's start
 * when iterating by hand.
 */
import { realNomadBinaries, startNomadAgent } from './agent';

export interface RealNomad {
  url: string;
  /** the hostpath plugin's --statedir: each volume's data is in <dir>/<ExternalID> */
  csiStateDir: string;
  /** the agent's log, when it was started here (gone after stop) */
  logFile: string | null;
  stop(): Promise<void>;
}

/**
 * `chrootEnv`: what the `exec` driver copies into each task's chroot, when the agent is started
 * here (default: tests/nomad/agent.ts's DEFAULT_CHROOT_ENV); an agent given by address keeps its own.
 */
export async function startRealNomad(opts: { chrootEnv?: Record<string, string> } = {}): Promise<RealNomad> {
  const addr = process.env.KNOT_TEST_NOMAD_ADDR;
  if (addr) {
    const csiStateDir = process.env.KNOT_TEST_NOMAD_CSI_STATE_DIR;
    if (!csiStateDir) throw new Error('KNOT_TEST_NOMAD_ADDR needs KNOT_TEST_NOMAD_CSI_STATE_DIR (the hostpath plugin --statedir)');
    return { url: addr, csiStateDir, logFile: null, stop: async () => undefined };
  }
  const bins = realNomadBinaries();
  if (!bins) throw new Error('no Nomad agent: set KNOT_NOMAD_BIN and KNOT_CSI_HOSTPATH_BIN (npm run test:nomad)');
  const agent = await startNomadAgent({ ...bins, ...(opts.chrootEnv ? { chrootEnv: opts.chrootEnv } : {}) });
  return { url: agent.url, csiStateDir: agent.csiStateDir, logFile: agent.logFile, stop: () => agent.stop() };
}
