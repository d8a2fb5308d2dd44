/**
 * The values a space's template is rendered with, read from the store. Protected variables and
 * password parameters are decrypted here: callers render and drop the context, never log or keep
 * it. Shared by the activities (job and volumes) and the API's side-effect-free update plan.
 */
import { decryptSecret, isEncrypted, variableAad } from '../core/crypto';
import { notFound } from '../core/errors';
import type { KnotConfig } from '../core/config';
import type { RenderContext } from '../core/render';
import type { Space, TemplateRecord } from './model';
import type { Store } from './store';

export interface RenderSettings {
  url: string;
  wildcardDomain: string;
  agentEndpoint: string;
  encryptKey: string;
  nomadDatacenter: string;
  nomadRegion: string;
}

/** The render settings of this configuration: one reading of the server's keys for the worker and the API. */
export function renderSettingsOf(cfg: KnotConfig): RenderSettings {
  const c = cfg.server;
  return { url: c.url, wildcardDomain: c.wildcard_domain, agentEndpoint: c.agent_endpoint, encryptKey: c.encrypt, nomadDatacenter: c.nomad.datacenter, nomadRegion: c.nomad.region || 'global' };
}

export async function loadRenderContext(store: Store, settings: RenderSettings, space: Space, template: TemplateRecord): Promise<RenderContext> {
  const owner = await store.users.get(space.ownerId);
  if (!owner) throw notFound('user', space.ownerId);
  const vars: Record<string, string> = {};
  for (const v of await store.variables.list()) {
    vars[v.name] = v.protected ? decryptSecret(v.value, settings.encryptKey, variableAad(v.id)) : v.value;
  }
  const param: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(space.parameters)) {
    param[k] = isEncrypted(v) ? decryptSecret(v, settings.encryptKey) : v;
  }
  return {
    space: { id: space.id, name: space.name },
    user: { id: owner.id, username: owner.username, email: owner.email ?? '', timezone: owner.timezone || 'UTC' },
    server: { url: settings.url, wildcard_domain: settings.wildcardDomain, agent_endpoint: settings.agentEndpoint },
    template: { id: template.id, name: template.name },
    nomad: { dc: settings.nomadDatacenter, region: settings.nomadRegion },
    var: vars,
    param,
  };
}
