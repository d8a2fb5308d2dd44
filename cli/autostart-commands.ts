/**
 * `knot space autostart <space> --days … --at … [--tz …] | --off`, and the autostart lines of
 * `knot space show`. Autostart is a setting (core/autostart.ts): saving it starts no update; the
 * server checks it against the template (`autostart: false`, `schedule`) and refuses with a 400
 * naming the field, which `action` prints before exiting non-zero.
 */
import type { Command } from 'commander';
import type { Space } from '../client';
import { action, autostartLine, clientOf, findSpace, printJson } from './space-commands';

export function registerAutostartCommand(space: Command): void {
  space
    .command('autostart <space>')
    .description("start the space at a wall-clock time on given weekdays (time zone: --tz, else the owner's), or --off")
    .option('--days <days>', 'comma-separated weekdays: mon,tue,wed,thu,fri,sat,sun')
    .option('--at <HH:MM>', 'the time of day, 00:00 to 23:59')
    .option('--tz <zone>', "IANA time zone such as Europe/Paris (default: the owner's)")
    .option('--off', 'remove the autostart')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, name: string, opts: { days?: string; at?: string; tz?: string; off?: boolean }) => {
        if (opts.off && (opts.days || opts.at || opts.tz)) throw new Error('--off takes no --days, --at or --tz');
        if (!opts.off && (!opts.days || !opts.at)) throw new Error('give --days and --at, or --off');
        const days = (opts.days ?? '')
          .split(',')
          .map((d) => d.trim().toLowerCase())
          .filter(Boolean) as NonNullable<Space['autostart']>['days'];
        const client = clientOf();
        const s = await findSpace(client, name);
        const saved = await client.setSpaceAutostart(s.id, opts.off ? null : { days, at: opts.at!, ...(opts.tz ? { timezone: opts.tz } : {}) });
        if (ui.json) return printJson(saved);
        if (!saved.autostart) return ui.line(`${ui.c.green('✓')} autostart of ${saved.name} turned off`);
        ui.line(`${ui.c.green('✓')} ${saved.name} starts ${autostartLine(saved)}; next ${saved.status.nextAutostartAt ?? '-'}`);
      }),
    );
}
