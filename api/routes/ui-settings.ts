/** What the web UI needs to know about this deployment: where the Temporal Web UI is, and where web ports get hosts of their own. */
import { z } from 'zod';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, problems } from '../schemas/common';
import type { KnotConfig } from '../../core/config';

export const uiSettingsView = z
  .object({
    temporalUiUrl: z.string().describe('base URL of the Temporal Web UI (links to a workflow are <url>/namespaces/<ns>/workflows/<id>)'),
    temporalNamespace: z.string(),
    wildcardDomain: z.string().describe("server.wildcard_domain without its '*.' (\"knot.example.com\"): a space's web port is also <owner>--<space>--<port>.<this>; '' when not set (then only /spaces/<owner>/<space>/ports/<port>/)"),
  })
  .meta({ id: 'UiSettings' });

/** server.temporal.ui_url, else the host of server.url on server.temporal.ui_port (as `knot dev` runs it). */
export function temporalUiUrl(cfg: KnotConfig): string {
  const given = cfg.server.temporal.ui_url.trim();
  if (given) return given.replace(/\/+$/, '');
  const u = new URL(cfg.server.url);
  return `${u.protocol}//${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${cfg.server.temporal.ui_port}`;
}

/** `*.knot.example.com` → `knot.example.com` (as port-requests.ts matches app hosts). */
export function wildcardSuffix(domain: string): string {
  return domain.trim().toLowerCase().replace(/^\*\./, '');
}

export const uiSettingsRoutes: RouteDef[] = [
  defineRoute({
    method: 'get',
    path: '/api/v1/ui/settings',
    tag: 'meta',
    summary: 'Settings the web UI needs (the Temporal Web UI address)',
    auth: 'user',
    responses: { 200: { description: 'settings', schema: uiSettingsView }, ...problems(...AUTH_PROBLEMS) },
    async handler({ svc }) {
      return { status: 200, body: { temporalUiUrl: temporalUiUrl(svc.config), temporalNamespace: svc.config.server.temporal.namespace, wildcardDomain: wildcardSuffix(svc.config.server.wildcard_domain) } };
    },
  }),
];
