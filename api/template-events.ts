/**
 * After a template gets a new version, tell the event stream which spaces now have an update
 * available, so the web UI shows the badge without a reload.
 */
import { recordEvent } from '../store/events';
import { listSpaces } from '../store/spaces';
import type { Services } from './context';
import { templateFacts, updateAvailableFor } from './space-views';

const BATCH = 500;

export async function announceTemplateVersion(svc: Services, templateId: string): Promise<void> {
  try {
    const facts = await templateFacts(svc, templateId);
    let after: { createdAt: number; id: string } | undefined;
    for (;;) {
      const page = await listSpaces(svc.db, { templateId, limit: BATCH, ...(after ? { after } : {}) });
      for (const s of page) {
        if (updateAvailableFor(s, facts)) await recordEvent(svc.db, { type: 'space.update_available', spaceId: s.id, operationId: null, updateAvailable: true }, svc.now());
      }
      const last = page[page.length - 1];
      if (page.length < BATCH || !last) break;
      after = { createdAt: last.createdAt, id: last.id };
    }
  } catch (e) {
    // the version is saved; a missed badge event is fixed by the next refetch
    svc.logger.error({ err: e, templateId }, 'could not announce the new template version');
  }
}
