import type { TestWorkflowEnvironment } from '@temporalio/testing';

export default async function globalTeardown(): Promise<void> {
  const env = (globalThis as { __knotTemporalEnv?: TestWorkflowEnvironment }).__knotTemporalEnv;
  await env?.teardown();
}
