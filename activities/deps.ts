/** What activities need from the outside world, injected so they are testable without a worker. */
import type { Logger } from 'pino';
import type { Db } from '../store/db';
import type { NomadClient } from '../nomad/client';
import type { Clock } from '../store/clock';

export interface ServerSettings {
  url: string;
  wildcardDomain: string;
  agentEndpoint: string;
  /** base64 key for protected variables and password parameters; '' when not configured */
  encryptKey: string;
  nomadDatacenter: string;
  nomadRegion: string;
  nomadNamespace: string;
}

export interface ActivityDeps {
  db: Db;
  nomad: NomadClient;
  settings: ServerSettings;
  logger: Logger;
  clock: Clock;
  /** how often waits poll Nomad when blocking queries return early */
  pollIntervalMs?: number;
  /** GET <agentUrl>/ping for manual spaces; injectable for tests */
  fetch?: typeof fetch;
}
