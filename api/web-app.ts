/**
 * Serves the built web UI (web/, built by Vite into dist/web) at `/`: hashed assets with long
 * caching, and index.html for every other GET that asks for HTML (client-side routes), never for
 * /api, /health or /metrics, which keep their own answers (404 problem+json included).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';

const RESERVED = /^\/(api|health|metrics)(\/|$)/;

/** The repo's dist/web when run from source (tests), or dist/web next to the compiled api/ (npm start). */
export function webRoot(): string | null {
  // the source folder web/ has an index.html too; only a build has assets/
  for (const dir of [resolve(__dirname, '../dist/web'), resolve(__dirname, '../web')]) {
    if (existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'assets'))) return dir;
  }
  return null;
}

export function webAppHandlers(root: string | null = webRoot()): RequestHandler[] {
  if (!root) return [];
  const indexHtml = readFileSync(join(root, 'index.html'));
  const assets = express.static(root, {
    index: false,
    fallthrough: true,
    setHeaders(res, path) {
      res.setHeader('Cache-Control', /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  const guardedAssets: RequestHandler = (req, res, next) => (RESERVED.test(req.path) ? next() : assets(req, res, next));
  const spaFallback = (req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || RESERVED.test(req.path) || !req.accepts('html')) return next();
    res.setHeader('Cache-Control', 'no-cache');
    res.type('html').send(indexHtml);
  };
  return [guardedAssets, spaFallback];
}
