/** Who is signed in, shared by the shell and the pages. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Whoami } from './api';

export const SessionContext = createContext<{ me: Whoami; refresh: () => Promise<void> } | null>(null);

export function useMe(): Whoami {
  const s = useContext(SessionContext);
  if (!s) throw new Error('no session');
  return s.me;
}
