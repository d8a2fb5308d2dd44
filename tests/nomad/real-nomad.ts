/**
 * The real Nomad agent for this tier: one started from KNOT_NOMAD_BIN / KNOT_CSI_HOSTPATH_BIN, or
 * an agent that is already running (KNOT_TEST_NOMAD_ADDR with KNOT_TEST_NOMAD_CSI_STATE_DIR, the
 * plugin's --statedir), which saves the agent's start when iterating by hand.
 */
export interface RealNomad {
  url: string;
  /** the hostpath plugin's --statedir: each volume's data is in <dir>/<ExternalID> */
  csiStateDir: string;
  stop(): Promise<void>;
}

export async function startRealNomad(): Promise<RealNomad> {
  const addr = process.env.KNOT_TEST_NOMAD_ADDR;
  if (addr) {
    const csiStateDir = process.env.KNOT_TEST_NOMAD_CSI_STATE_DIR;
    if (!csiStateDir) throw new Error('KNOT_TEST_NOMAD_ADDR needs KNOT_TEST_NOMAD_CSI_STATE_DIR (the hostpath plugin --statedir)');
    return { url: addr, csiStateDir, stop: async () => undefined };
  }
  throw new Error('no Nomad agent: set KNOT_NOMAD_BIN and KNOT_CSI_HOSTPATH_BIN (npm run test:nomad)');
}
