export { startSandbox, DEFAULT_DRIVERS, DEFAULT_NOMAD_VERSION, type Sandbox, type SandboxOptions, type SandboxState } from './server';
export type { Faults, FaultRule } from './faults';
export type { CsiPluginConfig } from './cluster';
export { runSandboxFromCli, type SandboxCliOptions } from './main';
