/** GET /health: no auth; every injected check in parallel, each with a short timeout. */
import { z } from 'zod';
import { definePublicRoute, type RouteDef } from '../route';

export const healthView = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    /** which store holds knot's data */
    store: z.enum(['sqlite', 'mysql', 'redis']).optional(),
    checks: z.record(z.string(), z.enum(['ok', 'down'])),
  })
  .meta({ id: 'Health' });

async function runCheck(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([check().then((ok) => ok === true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const healthRoutes: RouteDef[] = [
  definePublicRoute({
    method: 'get',
    path: '/health',
    tag: 'health',
    summary: 'Health of the API and its dependencies',
    responses: { 200: { description: 'everything is up', schema: healthView }, 503: { description: 'something is down (named in checks)', schema: healthView } },
    async handler({ svc }) {
      const entries = Object.entries(svc.health.checks);
      const results = await Promise.all(entries.map(([, check]) => runCheck(check, svc.health.timeoutMs ?? 2000)));
      const checks: Record<string, 'ok' | 'down'> = {};
      entries.forEach(([name], i) => (checks[name] = results[i] ? 'ok' : 'down'));
      const ok = results.every(Boolean);
      return { status: ok ? 200 : 503, body: { status: ok ? 'ok' : 'unavailable', ...(svc.health.store ? { store: svc.health.store as 'sqlite' | 'mysql' | 'redis' } : {}), checks }, headers: { 'Cache-Control': 'no-store' } };
    },
  }),
];
