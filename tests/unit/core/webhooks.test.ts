import { Webhook } from 'standardwebhooks';
import {
  deliveryId,
  isPrivateAddress,
  newWebhookSecret,
  parseWebhookUrl,
  signWebhook,
  takeContiguous,
  webhookHeaders,
  webhookTypesOf,
} from '../../../core/webhooks';
import { isKnotError } from '../../../core/errors';

describe('webhook signature (Standard Webhooks)', () => {
  it('verifies with the standardwebhooks package, and fails for another body or secret', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const body = JSON.stringify({ type: 'space.started', data: { ü: 'ß' } });
    const headers = webhookHeaders(secret, 'msg_1', body, Date.now());
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body + ' ', headers)).toThrow();
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
  });

  it('matches the specification example', () => {
    // https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = '{"test": 2432232314}';
    expect(signWebhook(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('gives one stable id per event, type and endpoint', () => {
    expect(deliveryId('ep1', 42, 'space.started')).toBe(deliveryId('ep1', 42, 'space.started'));
    expect(new Set([deliveryId('ep1', 42, 'space.started'), deliveryId('ep2', 42, 'space.started'), deliveryId('ep1', 43, 'space.started'), deliveryId('ep1', 42, 'operation.finished')]).size).toBe(4);
  });
});

describe('address classification (SSRF guard)', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1',
    '100.127.255.255',
    '169.254.169.254',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd00:ec2::254',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '64:ff9b::10.0.0.1',
    'not-an-address',
  ])('%s is refused', (a) => {
    expect(isPrivateAddress(a)).toBe(true);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '192.169.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('%s is public', (a) => {
    expect(isPrivateAddress(a)).toBe(false);
  });

  it('refuses private literals, localhost and non-http schemes at save, naming url', () => {
    for (const u of ['http://127.0.0.1/x', 'http://[::1]:8080/', 'https://localhost/', 'http://foo.localhost/', 'ftp://example.com/', 'not a url', 'https://user:pw@example.com/']) {
      let err: unknown = null;
      try {
        parseWebhookUrl(u, false);
      } catch (e) {
        err = e;
      }
      expect(isKnotError(err) && err.errors.map((x) => x.path)).toEqual(['url']);
    }
    expect(parseWebhookUrl('http://127.0.0.1:9/x', true).port).toBe('9');
    expect(parseWebhookUrl('https://example.com/hook', false).hostname).toBe('example.com');
  });
});

describe('webhook events of a lifecycle event', () => {
  const ev = (type: string, operationType: string | null, status: string | null, agent: { state: string } | null = null) => ({ type, operationType, status, agent }) as Parameters<typeof webhookTypesOf>[0];
  it('maps finished operations, deletions and agent links', () => {
    expect(webhookTypesOf(ev('operation.finished', 'start', 'succeeded'))).toEqual(['operation.finished', 'space.started']);
    expect(webhookTypesOf(ev('operation.finished', 'restart', 'succeeded'))).toEqual(['operation.finished', 'space.started']);
    expect(webhookTypesOf(ev('operation.finished', 'create', 'succeeded'))).toEqual(['operation.finished', 'space.created']);
    expect(webhookTypesOf(ev('operation.finished', 'stop', 'succeeded'))).toEqual(['operation.finished', 'space.stopped']);
    expect(webhookTypesOf(ev('operation.finished', 'update', 'succeeded'))).toEqual(['operation.finished', 'space.updated']);
    expect(webhookTypesOf(ev('operation.finished', 'delete', 'succeeded'))).toEqual(['operation.finished']);
    expect(webhookTypesOf(ev('operation.finished', 'start', 'failed'))).toEqual(['operation.finished', 'space.failed']);
    expect(webhookTypesOf(ev('operation.finished', 'start', 'cancelled'))).toEqual(['operation.finished']);
    expect(webhookTypesOf(ev('space.deleted', 'delete', 'running'))).toEqual(['space.deleted']);
    expect(webhookTypesOf(ev('space.agent', null, null, { state: 'connected' }))).toEqual(['space.agent.connected']);
    expect(webhookTypesOf(ev('space.agent', null, null, { state: 'disconnected' }))).toEqual(['space.agent.disconnected']);
    expect(webhookTypesOf(ev('space.agent', null, null, { state: 'connecting' }))).toEqual([]);
    expect(webhookTypesOf(ev('operation.step', 'start', 'running'))).toEqual([]);
    expect(webhookTypesOf(ev('space.shared', null, null))).toEqual(['space.shared']);
    expect(webhookTypesOf(ev('space.transferred', null, null))).toEqual(['space.transferred']);
    expect(webhookTypesOf(ev('space.phase', 'start', 'running'))).toEqual([]);
  });
});

describe('the dispatcher takes contiguous events', () => {
  const rows = (...ids: number[]) => ids.map((id) => ({ id }));
  it('stops at a hole until the grace has passed, then goes past it', () => {
    expect(takeContiguous(10, rows(11, 12, 13), null, 0, 1000)).toEqual({ take: rows(11, 12, 13), gap: null });
    const first = takeContiguous(10, rows(11, 13, 14), null, 0, 1000);
    expect(first).toEqual({ take: rows(11), gap: { id: 12, since: 0 } });
    expect(takeContiguous(11, rows(13, 14), first.gap, 999, 1000).take).toEqual([]);
    expect(takeContiguous(11, rows(12, 13), first.gap, 999, 1000)).toEqual({ take: rows(12, 13), gap: null });
    expect(takeContiguous(11, rows(13, 14), first.gap, 1000, 1000)).toEqual({ take: rows(13, 14), gap: null });
  });
});
