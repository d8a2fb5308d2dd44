/**
 * GET /metrics: Prometheus text format. No user token: scrapers are not users. When
 * `server.metrics.token` is set the scraper sends it as a bearer token; when
 * `server.metrics.enabled` is false the route answers 404 like any unknown path.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ErrorType, KnotError } from '../../core/errors';
import { METRICS_CONTENT_TYPE } from '../../metrics/metrics';
import { bearerToken, clientIp, rateLimited, TOKEN_PREFIX_LENGTH } from '../auth';
import { definePublicRoute, type RouteDef } from '../route';
import { problems } from '../schemas/common';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export const metricsRoutes: RouteDef[] = [
  definePublicRoute({
    method: 'get',
    path: '/metrics',
    tag: 'meta',
    summary: 'Prometheus metrics (text exposition format)',
    description:
      'Operations, step durations, Nomad calls, API requests, event-stream clients and sweep results. Needs `Authorization: Bearer <server.metrics.token>` when that is set; 404 when server.metrics.enabled is false.',
    responses: {
      200: { description: 'the metrics', schema: z.string(), contentType: 'text/plain' },
      ...problems(401, 404, 429),
    },
    async handler({ req, svc }) {
      const cfg = svc.config.server.metrics;
      if (!cfg.enabled) throw new KnotError(ErrorType.NotFound, `no route ${req.method} ${req.path}`);
      if (cfg.token) {
        const given = bearerToken(req);
        if (given === null || !timingSafeEqual(digest(given), digest(cfg.token))) {
          const wait = svc.limiter.failed(clientIp(req), given ? given.slice(0, TOKEN_PREFIX_LENGTH) : null);
          if (wait > 0) throw rateLimited(wait);
          throw new KnotError(ErrorType.Unauthorized, 'GET /metrics needs Authorization: Bearer <server.metrics.token>');
        }
      }
      return { status: 200, body: await svc.metrics.render(), contentType: METRICS_CONTENT_TYPE, headers: { 'Cache-Control': 'no-store' } };
    },
  }),
];
