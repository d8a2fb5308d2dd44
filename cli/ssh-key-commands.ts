/**
 * `knot ssh-key add|list|remove`: the SSH public keys on your account, which the agent puts into
 * your spaces. `add` reads a .pub file or stdin and refuses a private key itself, before anything
 * is sent: a private key must not travel to the server (or its logs) even to be refused there.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { KnotApiError, type SshKey } from '../client';
import { looksLikePrivateKey, MAX_SSH_KEY_INPUT } from '../core/ssh-keys';
import { action, clientOf, printJson } from './space-commands';
import { table } from './terminal';

/** What `add` reads: the file, or stdin for `-`. */
function readKeyInput(file: string): string {
  return readFileSync(file === '-' ? 0 : file, 'utf8');
}

/**
 * Why this input must not be sent, or null: a private key (with a pointer to the .pub next to
 * it), or more text than any public key.
 */
export function localRefusal(file: string, text: string, pubExists: (p: string) => boolean = existsSync): string | null {
  const source = file === '-' ? 'stdin' : file;
  if (looksLikePrivateKey(text)) {
    const pub = file !== '-' && !file.endsWith('.pub') && pubExists(`${file}.pub`) ? ` (did you mean ${file}.pub?)` : '';
    return `${source} holds a PRIVATE key: nothing was sent. Add the public key instead${pub}, and keep the private key to yourself`;
  }
  if (Buffer.byteLength(text, 'utf8') > MAX_SSH_KEY_INPUT) return `${source} is larger than ${MAX_SSH_KEY_INPUT / 1024} KiB: not an SSH public key; nothing was sent`;
  return null;
}

/** The key a `remove` argument names: its id, its fingerprint (with or without `SHA256:`) or its name (when only one key has it). */
export function findKey(keys: readonly SshKey[], ref: string): SshKey {
  const byId = keys.find((k) => k.id === ref || k.fingerprint === ref || k.fingerprint === `SHA256:${ref}`);
  if (byId) return byId;
  const named = keys.filter((k) => k.name === ref);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) throw new Error(`${named.length} keys are named '${ref}': remove one by its fingerprint or id (knot ssh-key list)`);
  throw new KnotApiError(404, { type: 'not_found', detail: `no SSH key '${ref}' on your account (knot ssh-key list shows them)` });
}

export function registerSshKeyCommands(program: Command): void {
  const sshKey = program.command('ssh-key').description('the SSH public keys on your account, which your spaces accept: add, list, remove');

  sshKey
    .command('add <file>')
    .description('add a public key from a .pub file, or - to read it from stdin (a private key is refused before it is sent)')
    .option('--name <name>', "a name for the key (default: the key's comment)")
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, file: string, opts: { name?: string }) => {
        const text = readKeyInput(file);
        const refusal = localRefusal(file, text);
        if (refusal) throw new Error(refusal);
        const key = await clientOf().addSshKey({ publicKey: text, ...(opts.name !== undefined ? { name: opts.name } : {}) });
        if (ui.json) return printJson(key);
        ui.line(`${ui.c.green('✓')} added ${key.type} key '${key.name}' ${key.fingerprint}`);
      }),
    );

  sshKey
    .command('list')
    .description('your SSH keys, oldest first')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui) => {
        const items = (await clientOf().listSshKeys()).items;
        if (ui.json) return printJson(items);
        ui.line(items.length ? table([['NAME', 'TYPE', 'FINGERPRINT', 'ADDED', 'ID'], ...items.map((k) => [k.name, k.type, k.fingerprint, k.createdAt, k.id])]) : "no SSH keys; add one with 'knot ssh-key add ~/.ssh/id_ed25519.pub'");
      }),
    );

  sshKey
    .command('remove <key>')
    .description('remove a key by its id, fingerprint or name')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, ref: string) => {
        const client = clientOf();
        const key = findKey((await client.listSshKeys()).items, ref);
        await client.removeSshKey(key.id);
        if (ui.json) return printJson({ removed: key });
        ui.line(`${ui.c.green('✓')} removed key '${key.name}' ${key.fingerprint}`);
      }),
    );
}
