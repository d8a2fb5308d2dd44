/**
 * Register-time validation with Nomad's own error texts (nomad/structs/structs.go Job.Validate,
 * TaskGroup.Validate, Task.Validate, Resources.Validate; nomad/job_endpoint_validators.go), for the
 * subset of mistakes a template can make. Nomad nests hashicorp/go-multierror lists, and so does
 * this: a problem is a string, a nested list is `{ prefix, problems }`.
 */
import type { Job } from '../types';

type Problem = string | { prefix: string; problems: Problem[] };

/** go-multierror's ListFormatFunc. */
export function formatMultiError(problems: Problem[]): string {
  const text = (p: Problem): string => (typeof p === 'string' ? p : `${p.prefix}${formatMultiError(p.problems)}`);
  if (problems.length === 1) return `1 error occurred:\n\t* ${text(problems[0] as Problem)}\n\n`;
  return `${problems.length} errors occurred:\n\t${problems.map((p) => `* ${text(p)}`).join('\n\t')}\n\n`;
}

const JOB_TYPES = new Set(['service', 'batch', 'system', 'sysbatch']);
const MIN_CPU = 1;
const MIN_MEMORY_MB = 10;

function resourceProblems(r: { CPU?: number | null; Cores?: number | null; MemoryMB?: number | null } | null | undefined): Problem[] {
  // The HTTP API fills CPU 100 / MemoryMB 300 when unset; only explicit values can be too small.
  const minimums: Problem[] = [];
  if (r?.CPU !== undefined && r.CPU !== null && r.CPU < MIN_CPU && !r.Cores) minimums.push(`minimum CPU value is ${MIN_CPU}; got ${r.CPU}`);
  if (r?.MemoryMB !== undefined && r.MemoryMB !== null && r.MemoryMB < MIN_MEMORY_MB) minimums.push(`minimum MemoryMB value is ${MIN_MEMORY_MB}; got ${r.MemoryMB}`);
  const problems: Problem[] = [];
  if (r?.Cores && r.CPU) problems.push("Task can only ask for 'cpu' or 'cores' resource, not both.");
  // Resources.Validate wraps MeetsMinResources' own multierror.
  if (minimums.length) problems.push({ prefix: '', problems: minimums });
  return problems;
}

function jobProblems(job: Job): Problem[] {
  const problems: Problem[] = [];
  if (job.Type && !JOB_TYPES.has(job.Type)) problems.push(`Invalid job type: "${job.Type}"`);
  const groups = job.TaskGroups ?? [];
  if (groups.length === 0) problems.push('Missing job task groups');
  const seen = new Map<string, number>();
  groups.forEach((tg, i) => {
    if (!tg.Name) {
      problems.push(`Job task group ${i + 1} missing name`);
      return;
    }
    const first = seen.get(tg.Name);
    if (first !== undefined) {
      problems.push(`Job task group ${i + 1} redefines '${tg.Name}' from group ${first + 1}`);
      return;
    }
    seen.set(tg.Name, i);
    const tgProblems: Problem[] = [];
    if ((tg.Count ?? 1) < 0) tgProblems.push("Task group count can't be negative");
    const tasks = tg.Tasks ?? [];
    if (tasks.length === 0) tgProblems.push('Missing tasks for task group');
    for (const task of tasks) {
      const taskProblems: Problem[] = [];
      if (!task.Name) taskProblems.push('Missing task name');
      if (!task.Driver) taskProblems.push('Missing task driver');
      const res = resourceProblems(task.Resources);
      if (res.length) taskProblems.push({ prefix: '', problems: res });
      if (taskProblems.length) tgProblems.push({ prefix: `Task ${task.Name} validation failed: `, problems: taskProblems });
    }
    if (tgProblems.length) problems.push({ prefix: `Task group ${tg.Name} validation failed: `, problems: tgProblems });
  });
  return problems;
}

/**
 * Nomad's admission validators in order (namespace check, then Job.Validate), flattened the way
 * multierror.Append flattens them. Returns the 500 body, or undefined when the job is valid.
 */
export function registerValidationError(job: Job, namespace: string, namespaces: readonly string[]): string | undefined {
  const problems: Problem[] = [];
  if (!namespaces.includes(namespace)) problems.push(`job "${job.ID}" is in nonexistent namespace "${namespace}"`);
  problems.push(...jobProblems(job));
  return problems.length ? formatMultiError(problems) : undefined;
}
