/**
 * A new template version can make an update available to the spaces that follow the template:
 * each such space gets a `space.update_available` event (the workers record everything else).
 */
import type { Services } from './context';
import { templateFacts, updateAvailableFor } from './space-views';

export async function announceTemplateVersion(svc: Services, templateId: string): Promise<void> {
  try {
    const facts = await templateFacts(svc, templateId);
    const spaces = await svc.store.spaces.list({ templateId, limit: 10_000 });
    for (const s of spaces) {
      if (!s.appliedVersion || !updateAvailableFor(s, facts)) continue;
      await svc.store.events.append({ type: 'space.update_available', spaceId: s.id, updateAvailable: true }, svc.now());
    }
  } catch (e) {
    // the version is saved; a missed notice only means clients see it on their next read
    svc.logger.warn({ err: e, templateId }, 'could not announce the new template version');
  }
}
