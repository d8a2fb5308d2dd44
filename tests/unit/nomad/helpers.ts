import { NomadClient } from '../../../nomad/client';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../../nomad/sandbox';
import type { VolumeSpec } from '../../../nomad/types';

export const FAST: SandboxOptions = {
  port: 0,
  allocRunningDelayMs: 20,
  healthyDelayMs: 20,
  claimReleaseDelayMs: 150,
  stopDelayMs: 10,
};

export async function sandboxWithClient(
  opts: SandboxOptions = {},
  clientOpts: { token?: string; timeoutMs?: number } = {},
): Promise<{ sandbox: Sandbox; client: NomadClient }> {
  const sandbox = await startSandbox({ ...FAST, ...opts });
  // generous: the sandbox's first HCL parse can take seconds on a loaded CI box; a test that wants a short timeout passes its own
  const client = new NomadClient({ addr: sandbox.url, timeoutMs: 10_000, ...clientOpts });
  return { sandbox, client };
}

export { waitFor } from '../../support/wait';

export function csiVolume(id: string, overrides: Partial<VolumeSpec> = {}): VolumeSpec {
  return {
    type: 'csi',
    id,
    name: id,
    pluginId: 'hostpath',
    capacityMin: 1e9,
    capacityMax: 10 * 2 ** 30,
    mountOptions: { fsType: 'ext4', mountFlags: ['noatime'] },
    capabilities: [{ accessMode: 'single-node-writer', attachmentMode: 'file-system' }],
    secrets: { key: 'value' },
    parameters: { speed: 'fast' },
    ...overrides,
  };
}

export function spaceJobHcl(jobId: string, volumeId?: string): string {
  const volume = volumeId
    ? `volume "home" {
      type            = "csi"
      source          = "${volumeId}"
      access_mode     = "single-node-writer"
      attachment_mode = "file-system"
    }`
    : '';
  const mount = volumeId ? 'volume_mount {\n        volume      = "home"\n        destination = "/home"\n      }' : '';
  return `job "${jobId}" {
  datacenters = ["dc1"]
  meta {
    knot_space_id = "${jobId}"
  }
  group "space" {
    network {
      port "ssh" {
        to = 22
      }
    }
    ${volume}
    task "ide" {
      driver = "docker"
      config {
        image = "debian:bookworm"
      }
      ${mount}
      resources {
        cpu    = 100
        memory = 128
      }
    }
  }
}`;
}
