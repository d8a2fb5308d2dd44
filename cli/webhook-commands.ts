/**
 * `knot webhook add|list|remove|deliveries|redeliver|test` (admins): lifecycle webhook endpoints.
 * `add` prints the signing secret once; nothing shows it again.
 */
import type { Command } from 'commander';
import { WEBHOOK_EVENT_TYPES } from '../core/webhooks';
import { action, clientOf, printJson } from './space-commands';
import { table } from './terminal';

function eventList(v: string): string[] {
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  return names.includes('all') ? [...WEBHOOK_EVENT_TYPES] : names;
}

export function registerWebhookCommands(program: Command): void {
  const webhook = program.command('webhook').description('lifecycle webhooks (admins): add, list, remove, deliveries, redeliver, test');

  webhook
    .command('add <url>')
    .description('register an endpoint; prints its signing secret (whsec_…) this once')
    .option('--events <list>', `comma-separated: ${WEBHOOK_EVENT_TYPES.join(', ')}, or all`, 'all')
    .option('--description <text>', 'what it is for', '')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, url: string, opts: { events: string; description: string }) => {
        const created = await clientOf().createWebhook({ url, events: eventList(opts.events) as never, description: opts.description });
        if (ui.json) return printJson(created);
        ui.line(`${ui.c.green('✓')} webhook ${created.id} → ${created.url}`);
        ui.line(`  events: ${created.events.join(', ')}`);
        ui.line(`  signing secret (shown once, keep it): ${created.secret}`);
      }),
    );

  webhook
    .command('list')
    .description('the endpoints')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui) => {
        const items = (await clientOf().listWebhooks()).items;
        if (ui.json) return printJson(items);
        ui.line(
          items.length
            ? table([['ID', 'URL', 'EVENTS', 'STATE'], ...items.map((w) => [w.id, w.url, w.events.join(','), w.enabled ? (w.failingSince ? `failing since ${w.failingSince}` : 'enabled') : `disabled${w.disabledReason ? ` (${w.disabledReason})` : ''}`])])
            : "no webhooks; add one with 'knot webhook add https://…'",
        );
      }),
    );

  webhook
    .command('remove <id>')
    .description('remove an endpoint and its deliveries')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, id: string) => {
        await clientOf().deleteWebhook(id);
        if (ui.json) return printJson({ removed: id });
        ui.line(`${ui.c.green('✓')} removed webhook ${id}`);
      }),
    );

  webhook
    .command('deliveries <id>')
    .description("an endpoint's deliveries, newest first")
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, id: string, opts: { limit: string }) => {
        const items = (await clientOf().listWebhookDeliveries(id, { limit: Number(opts.limit) })).items;
        if (ui.json) return printJson(items);
        ui.line(
          items.length
            ? table([
                ['DELIVERY', 'EVENT', 'STATUS', 'ATTEMPTS', 'LAST RESPONSE', 'CREATED'],
                ...items.map((d) => [d.id, d.eventType, d.status, String(d.attempts), d.lastResponse ? (d.lastResponse.error ?? String(d.lastResponse.statusCode)) : '-', d.createdAt]),
              ])
            : 'no deliveries yet',
        );
      }),
    );

  webhook
    .command('redeliver <id> <delivery>')
    .description('send a delivery again (same webhook-id)')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, id: string, delivery: string) => {
        const d = await clientOf().redeliverWebhook(id, delivery);
        if (ui.json) return printJson(d);
        ui.line(`${ui.c.green('✓')} ${d.id} queued again`);
      }),
    );

  webhook
    .command('test <id>')
    .description('send a webhook.test event')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, id: string) => {
        const d = await clientOf().testWebhook(id);
        if (ui.json) return printJson(d);
        ui.line(`${ui.c.green('✓')} test event ${d.id} queued (knot webhook deliveries ${id})`);
      }),
    );
}
