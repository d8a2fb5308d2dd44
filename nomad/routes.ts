/**
 * Nomad API paths → their route pattern (`/v1/job/web-1/allocations` → `/v1/job/:id/allocations`),
 * so metrics and logs can group calls without carrying job, allocation or volume ids.
 */
const PATTERNS: [RegExp, string][] = [
  [/^\/v1\/job\/[^/]+\/(allocations|evaluations|versions|deployments|deployment|summary|plan|evaluate|scale|dispatch|revert|stable)$/, '/v1/job/:id/$1'],
  [/^\/v1\/job\/[^/]+$/, '/v1/job/:id'],
  [/^\/v1\/(allocation|evaluation|deployment|node)\/[^/]+$/, '/v1/$1/:id'],
  [/^\/v1\/(allocation|evaluation|deployment|node)\/[^/]+\/([a-z-]+)$/, '/v1/$1/:id/$2'],
  [/^\/v1\/volume\/csi\/[^/]+\/(create|delete|snapshot|detach)$/, '/v1/volume/csi/:id/$1'],
  [/^\/v1\/volume\/csi\/[^/]+$/, '/v1/volume/csi/:id'],
  [/^\/v1\/volume\/host\/(create|register)$/, '/v1/volume/host/$1'],
  [/^\/v1\/volume\/host\/[^/]+\/delete$/, '/v1/volume/host/:id/delete'],
  [/^\/v1\/volume\/host\/[^/]+$/, '/v1/volume/host/:id'],
];

/** Fixed paths kept as they are; anything else becomes `other` (never a raw id in a label). */
const FIXED = new Set(['/v1/jobs', '/v1/jobs/parse', '/v1/volumes', '/v1/agent/self', '/v1/status/leader', '/v1/plugins', '/v1/allocations', '/v1/evaluations', '/v1/nodes']);

export function nomadRoute(path: string): string {
  const p = path.split('?')[0] ?? path;
  if (FIXED.has(p)) return p;
  for (const [re, pattern] of PATTERNS) if (re.test(p)) return p.replace(re, pattern);
  return 'other';
}
