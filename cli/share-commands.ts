/**
 * `knot space share | shares | unshare | transfer`: who else may see or use a space, and giving
 * it to another user (api/routes/space-shares.ts, space-transfer.ts).
 */
import type { Command } from 'commander';
import { action, clientOf, findSpace, printJson } from './space-commands';
import { table } from './terminal';

export function registerShareCommands(space: Command): void {
  space
    .command('share <space>')
    .description('share a space with a user or a group: viewer (sees it) or user (also starts, stops and gets in)')
    .option('--user <username>', 'share with this user')
    .option('--group <group>', 'share with every member of this group')
    .requiredOption('--role <role>', 'viewer or user')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, name: string, opts: { user?: string; group?: string; role: string }) => {
        if ((opts.user === undefined) === (opts.group === undefined)) throw new Error('give exactly one of --user and --group');
        const client = clientOf();
        const s = await findSpace(client, name);
        const role = opts.role as 'viewer' | 'user';
        const share = await client.shareSpace(s.id, opts.user !== undefined ? { user: opts.user, role } : { group: opts.group!, role });
        if (ui.json) return printJson(share);
        ui.line(`${ui.c.green('✓')} shared ${s.name} with ${share.user ? `user ${share.user}` : `group ${share.group}`} as ${share.role} (share ${share.id})`);
      }),
    );

  space
    .command('shares <space>')
    .description('who a space is shared with')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, name: string) => {
        const client = clientOf();
        const s = await findSpace(client, name);
        const { items } = await client.listShares(s.id);
        if (ui.json) return printJson(items);
        if (!items.length) return ui.line(`${s.name} is not shared`);
        ui.line(table([['ID', 'WITH', 'ROLE', 'BY', 'SINCE'], ...items.map((x) => [x.id, x.user ? `user ${x.user}` : `group ${x.group}`, x.role, x.createdBy, x.createdAt])]));
      }),
    );

  space
    .command('unshare <space> <shareId>')
    .description("revoke a share (its recipients' open terminals, SSH connections and forwarded ports close)")
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, name: string, shareId: string) => {
        const client = clientOf();
        const s = await findSpace(client, name);
        await client.unshareSpace(s.id, shareId);
        if (ui.json) return printJson({ revoked: shareId });
        ui.line(`${ui.c.green('✓')} revoked share ${shareId} of ${s.name}`);
      }),
    );

  space
    .command('transfer <space> <user>')
    .description('give a stopped space, with its volumes and data, to another user')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, name: string, to: string) => {
        const client = clientOf();
        const s = await findSpace(client, name);
        const moved = await client.transferSpace(s.id, { to });
        if (ui.json) return printJson(moved);
        ui.line(`${ui.c.green('✓')} space ${moved.name} now belongs to ${moved.owner}`);
      }),
    );
}
