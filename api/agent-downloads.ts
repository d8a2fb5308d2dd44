/**
 * The agent downloads: `GET /agent/` lists the files a space can fetch to run the agent (built by
 * scripts/build-agent.mjs into dist/agent-downloads) with their size and sha256, `GET /agent/<file>`
 * serves one. No authentication, like knot's download_path and Coder's /bin: the files are the
 * public agent code, the same for every space, and a space fetches them before it has anything to
 * authenticate with (its token only proves itself on the link).
 *
 * Only regular files (no symlinks) directly in the folder, by a plain name (letters, digits, `.`, `_`, `-`, not
 * starting with a dot), are served: a name is looked up among the folder's entries, never joined
 * into a path from the request, so there is nothing to traverse.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, readdirSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ErrorType, KnotError } from '../core/errors';
import { replyWithError, type RouteDef } from './route';
import { problems } from './schemas/common';

/** Where the routes are mounted. */
export const AGENT_DOWNLOADS_PATH = '/agent';
const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** the build writes this last, so a folder with it holds a finished build */
const SUMS_FILE = 'SHA256SUMS';

/** The repo's dist/agent-downloads when run from source (tests), or the one next to the compiled api/ (npm start). */
export function agentDownloadsRoot(): string | null {
  for (const dir of [resolve(__dirname, '../dist/agent-downloads'), resolve(__dirname, '../agent-downloads')]) {
    if (existsSync(join(dir, SUMS_FILE))) return dir;
  }
  return null;
}

export const agentDownloadView = z
  .object({
    name: z.string(),
    size: z.number().int(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .meta({ id: 'AgentDownload' });
export const agentDownloadListView = z.object({ files: z.array(agentDownloadView) }).meta({ id: 'AgentDownloadList' });
type AgentDownload = z.infer<typeof agentDownloadView>;

function contentTypeOf(name: string): string {
  if (name.endsWith('.tar.gz') || name.endsWith('.tgz')) return 'application/gzip';
  if (name.endsWith('.zip')) return 'application/zip';
  if (name === SUMS_FILE || name.endsWith('.txt')) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

/** sha256 per file, computed once per version of it (name, size and mtime); a rebuild is picked up. */
class DigestCache {
  private readonly known = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

  async sha256(file: string, st: Stats): Promise<string> {
    const hit = this.known.get(file);
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.sha256;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    const sha256 = hash.digest('hex');
    this.known.set(file, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
    return sha256;
  }
}

interface Found extends AgentDownload {
  file: string;
  mtimeMs: number;
}

/** The servable files of `root`, by name; empty when the folder is missing. */
async function listing(root: string, digests: DigestCache, only?: string): Promise<Found[]> {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const out: Found[] = [];
  for (const name of names.sort()) {
    if (!PLAIN_NAME.test(name) || (only !== undefined && name !== only)) continue;
    const file = join(root, name);
    let st: Stats;
    try {
      st = lstatSync(file);
    } catch {
      continue; // removed meanwhile (a rebuild)
    }
    if (!st.isFile()) continue; // not a folder, and not a symlink (it could point anywhere)
    out.push({ name, size: st.size, sha256: await digests.sha256(file, st), file, mtimeMs: st.mtimeMs });
  }
  return out;
}

function notFound(what: string): KnotError {
  return new KnotError(ErrorType.NotFound, what);
}

/**
 * The /agent routes. `root` null: not served (every /agent path answers 404 problem+json, so the
 * web UI's index.html never stands in for a missing agent).
 */
export function createAgentDownloadsRouter(root: string | null, logger: Logger): Router {
  const digests = new DigestCache();
  const router = Router();
  router.use(AGENT_DOWNLOADS_PATH, async (req: Request, res: Response) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        throw new KnotError(ErrorType.MethodNotAllowed, `method ${req.method} is not allowed on ${req.originalUrl.split('?')[0]}; allowed: GET, HEAD`, { details: { allowed: ['GET', 'HEAD'] } });
      }
      if (root === null) throw notFound('this server does not serve the agent (no agent build: run `npm run build`)');
      const rel = req.path;
      if (rel === '/' || rel === '') {
        const files = (await listing(root, digests)).map(({ name, size, sha256 }) => ({ name, size, sha256 }));
        res.setHeader('Cache-Control', 'no-cache');
        res.json({ files });
        return;
      }
      const name = rel.slice(1);
      const [found] = PLAIN_NAME.test(name) ? await listing(root, digests, name) : [];
      if (!found) throw notFound(`no agent download named '${name.slice(0, 200)}'`);
      const etag = `"${found.sha256}"`;
      // the same name gets new contents on a rebuild: caches keep a copy but ask each time (a 304 is cheap)
      res.setHeader('Cache-Control', 'public, no-cache');
      res.setHeader('ETag', etag);
      res.setHeader('Last-Modified', new Date(found.mtimeMs).toUTCString());
      const ifNoneMatch = req.headers['if-none-match'];
      if (ifNoneMatch && ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*')) {
        res.status(304).end();
        return;
      }
      res.setHeader('Content-Type', contentTypeOf(found.name));
      res.setHeader('Content-Length', String(found.size));
      res.setHeader('Content-Disposition', `attachment; filename="${found.name}"`);
      if (req.method === 'HEAD') {
        res.status(200).end();
        return;
      }
      const stream = createReadStream(found.file);
      stream.on('error', (e) => {
        logger.error({ err: e, file: found.name }, 'agent download failed');
        res.destroy(e);
      });
      stream.pipe(res);
    } catch (e) {
      replyWithError(req, res, { logger }, e);
    }
  });
  return router;
}

const docOnly = async (): Promise<void> => {
  throw new Error('documentation only: served by createAgentDownloadsRouter');
};

/** The OpenAPI declarations of the routes above (they are served by their own router). */
export const agentDownloadRouteDocs: RouteDef[] = [
  {
    method: 'get',
    path: `${AGENT_DOWNLOADS_PATH}/`,
    summary: 'The agent downloads: name, size and sha256 of each file',
    description: 'No authentication: the files are the public agent code a space fetches to run the agent (built by `npm run build`).',
    tag: 'agents',
    auth: 'none',
    bodyRequired: false,
    responses: { 200: { description: 'the files', schema: agentDownloadListView }, ...problems(404) },
    handle: docOnly,
  },
  {
    method: 'get',
    path: `${AGENT_DOWNLOADS_PATH}/:file`,
    summary: 'One agent download, e.g. knot-agent-linux-amd64.tar.gz (Nomad arch names) or SHA256SUMS',
    description:
      'No authentication (public code). The tarball holds `knot-agent/knot-agent.js` (Node.js 20 or newer), the PTY module for that architecture and a `knot-agent/knot-agent` launcher. ' +
      'The ETag is the sha256; `If-None-Match` answers 304.',
    tag: 'agents',
    auth: 'none',
    bodyRequired: false,
    responses: {
      200: { description: 'the file', schema: z.string(), contentType: 'application/gzip' },
      304: { description: 'unchanged (If-None-Match)' },
      ...problems(404),
    },
    handle: docOnly,
  },
];
