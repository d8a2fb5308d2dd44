/**
 * Sharing a space and giving it away, on the space page: the Share dialog (who it is shared
 * with, add a user or a group as viewer or user, revoke) and the Transfer dialog (stopped spaces;
 * the volumes and their data go with it). Owners and admins only (`space.role`).
 */
import { useEffect, useState } from 'preact/hooks';
import { api, type Share, type Space } from './api';
import { Dialog, ErrorBanner, FieldMessage, fieldErrors } from './components';

export function SharingButtons(props: { space: Space; onChanged: (s: Space) => void }) {
  const [open, setOpen] = useState<'share' | 'transfer' | null>(null);
  if (props.space.role !== 'owner' && props.space.role !== 'admin') return null;
  return (
    <>
      <button type="button" onClick={() => setOpen('share')}>
        Share
      </button>{' '}
      <button type="button" onClick={() => setOpen('transfer')} disabled={props.space.status.phase !== 'stopped'} title={props.space.status.phase === 'stopped' ? '' : 'stop the space to transfer it'}>
        Transfer
      </button>
      {open === 'share' ? <ShareDialog space={props.space} onClose={() => setOpen(null)} /> : null}
      {open === 'transfer' ? (
        <TransferDialog
          space={props.space}
          onClose={() => setOpen(null)}
          onDone={(s) => {
            setOpen(null);
            props.onChanged(s);
          }}
        />
      ) : null}
    </>
  );
}

function ShareDialog(props: { space: Space; onClose: () => void }) {
  const [shares, setShares] = useState<Share[] | null>(null);
  const [kind, setKind] = useState<'user' | 'group'>('user');
  const [name, setName] = useState('');
  const [role, setRole] = useState<'viewer' | 'user'>('viewer');
  const [error, setError] = useState<unknown>(null);
  const load = () => void api().listShares(props.space.id).then((r) => setShares(r.items), setError);
  useEffect(load, [props.space.id]);
  const add = async (e: Event) => {
    e.preventDefault();
    try {
      await api().shareSpace(props.space.id, kind === 'user' ? { user: name.trim(), role } : { group: name.trim(), role });
      setName('');
      setError(null);
      load();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = (id: string) => void api().unshareSpace(props.space.id, id).then(load, setError);
  const errors = fieldErrors(error);
  return (
    <Dialog title={`Share ${props.space.name}`} onClose={props.onClose}>
      <p class="muted">A viewer sees the space, its events and operations; a user also starts, stops and restarts it and gets in (terminal, SSH, ports, Code Server).</p>
      {shares === null ? (
        <p>Loading…</p>
      ) : shares.length ? (
        <table>
          <caption>Shared with</caption>
          <thead>
            <tr>
              <th scope="col">With</th>
              <th scope="col">Role</th>
              <th scope="col">By</th>
              <th scope="col">
                <span class="sr-only">Revoke</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shares.map((s) => (
              <tr key={s.id}>
                <td>{s.user ? s.user : `group ${s.group}`}</td>
                <td>{s.role}</td>
                <td>{s.createdBy}</td>
                <td>
                  <button type="button" onClick={() => revoke(s.id)} aria-label={`Revoke ${s.user ?? s.group}`}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p>Not shared with anyone.</p>
      )}
      <form onSubmit={(e) => void add(e)}>
        <label for="share-kind">With a</label>
        <select id="share-kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as 'user' | 'group')}>
          <option value="user">user</option>
          <option value="group">group</option>
        </select>
        <label for="share-name">{kind === 'user' ? 'Username' : 'Group'}</label>
        <input id="share-name" value={name} required onInput={(e) => setName((e.target as HTMLInputElement).value)} aria-describedby="share-name-error" />
        <FieldMessage id="share-name" message={errors[kind]} />
        <label for="share-role">Role</label>
        <select id="share-role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as 'viewer' | 'user')}>
          <option value="viewer">viewer</option>
          <option value="user">user</option>
        </select>
        <ErrorBanner error={Object.keys(errors).length ? null : error} />
        <div class="dialog-buttons">
          <button type="submit" class="primary">
            Share
          </button>
          <button type="button" onClick={props.onClose}>
            Close
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function TransferDialog(props: { space: Space; onClose: () => void; onDone: (s: Space) => void }) {
  const [to, setTo] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      props.onDone(await api().transferSpace(props.space.id, { to: to.trim() }));
    } catch (err) {
      setError(err);
    }
  };
  const errors = fieldErrors(error);
  return (
    <Dialog title={`Transfer ${props.space.name}`} onClose={props.onClose}>
      <p>The new owner gets the space with its volumes and their data; it keeps its shares. You keep no access unless it is shared with you.</p>
      <form onSubmit={(e) => void submit(e)}>
        <label for="transfer-to">New owner (username)</label>
        <input id="transfer-to" value={to} required onInput={(e) => setTo((e.target as HTMLInputElement).value)} aria-describedby="transfer-to-error" />
        <FieldMessage id="transfer-to" message={errors.to} />
        <ErrorBanner error={errors.to ? null : error} />
        <div class="dialog-buttons">
          <button type="submit" class="primary">
            Transfer
          </button>
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
