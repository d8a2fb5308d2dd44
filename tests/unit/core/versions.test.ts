import { ErrorType, KnotError } from '../../../core/errors';
import {
  canonicalJson,
  checkTemplateRef,
  classifyChange,
  contentHash,
  isUpdateAvailable,
  nextVersion,
  resolveTemplateRef,
  specHash,
} from '../../../core/versions';

const base = {
  name: 'example',
  displayName: 'Example',
  description: 'A template',
  type: 'nomad',
  job: 'job "x" {}',
  volumes: 'volumes: []',
  groups: ['dev'],
  parameters: [{ variable: 'size', type: 'string', defaultValue: '10G' }],
  startTimeout: '5m',
};

describe('contentHash', () => {
  it('is a sha256 hex string and independent of key order at every level', () => {
    const reordered = {
      startTimeout: '5m',
      parameters: [{ defaultValue: '10G', type: 'string', variable: 'size' }],
      groups: ['dev'],
      volumes: 'volumes: []',
      job: 'job "x" {}',
      type: 'nomad',
      description: 'A template',
      displayName: 'Example',
      name: 'example',
    };
    expect(contentHash(base)).toMatch(/^[0-9a-f]{64}$/);
    expect(contentHash(reordered)).toBe(contentHash(base));
  });

  it('ignores name, version and undefined members but not content', () => {
    expect(contentHash({ ...base, name: 'other', version: '9.9.9', idleTimeout: undefined })).toBe(contentHash(base));
    expect(contentHash({ ...base, job: 'job "y" {}' })).not.toBe(contentHash(base));
    expect(contentHash({ ...base, groups: ['ops', 'dev'] })).not.toBe(contentHash({ ...base, groups: ['dev', 'ops'] }));
  });

  it('is stable across runs (a stored hash stays valid)', () => {
    // sha256 of the canonical JSON {"job":"a","type":"nomad"}, pinned: changing the canonical form
    // would silently mark every space "update available".
    expect(contentHash({ type: 'nomad', job: 'a', name: 'n' })).toBe('cd1aba5957cc62664298eafbb0b2cd24d3902238e8d5b16aad2a73e93944d25b');
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: 'x' })).toBe('{"a":"x","b":[1,{"c":2,"d":1}]}');
  });

  it('specHash ignores metadata', () => {
    expect(specHash({ ...base, description: 'changed', displayName: 'X', groups: [] })).toBe(specHash(base));
    expect(specHash({ ...base, job: 'job "y" {}' })).not.toBe(specHash(base));
  });
});

describe('classifyChange / nextVersion', () => {
  it.each([
    ['nothing', {}, 'none'],
    ['description', { description: 'new' }, 'patch'],
    ['groups', { groups: ['dev', 'ops'] }, 'patch'],
    ['job', { job: 'job "y" {}' }, 'minor'],
    ['volumes', { volumes: 'volumes:\n  - id: x' }, 'minor'],
    ['startTimeout', { startTimeout: '10m' }, 'minor'],
    ['optional parameter added', { parameters: [...base.parameters, { variable: 'note', type: 'string' }] }, 'minor'],
    ['parameter default changed', { parameters: [{ variable: 'size', type: 'string', defaultValue: '20G' }] }, 'minor'],
    ['required parameter with default added', { parameters: [...base.parameters, { variable: 'x', type: 'string', required: true, defaultValue: 'a' }] }, 'minor'],
    ['required parameter without default added', { parameters: [...base.parameters, { variable: 'x', type: 'string', required: true }] }, 'major'],
    ['parameter removed', { parameters: [] }, 'major'],
    ['parameter type changed', { parameters: [{ variable: 'size', type: 'number', defaultValue: 10 }] }, 'major'],
    ['template type changed', { type: 'manual', job: undefined }, 'major'],
  ])('%s → %s', (_label, change, kind) => {
    expect(classifyChange(base, { ...base, ...change })).toBe(kind);
  });

  it.each([
    ['first version', null, null, {}, { version: '1.0.0', change: 'major' }],
    ['first version, explicit', null, null, { version: '0.1.0' }, { version: '0.1.0', change: 'major' }],
    ['unchanged', '1.2.3', base, {}, null],
    ['metadata → patch', '1.2.3', base, { description: 'x' }, { version: '1.2.4', change: 'patch' }],
    ['job → minor', '1.2.3', base, { job: 'job "z" {}' }, { version: '1.3.0', change: 'minor' }],
    ['breaking → major', '1.2.3', base, { parameters: [] }, { version: '2.0.0', change: 'major' }],
    ['explicit greater wins', '1.2.3', base, { job: 'y', version: '1.10.0' }, { version: '1.10.0', change: 'minor' }],
    ['explicit greater without change', '1.2.3', base, { version: '1.2.4' }, { version: '1.2.4', change: 'patch' }],
    ['explicit equal, unchanged', '1.2.3', base, { version: '1.2.3' }, null],
  ])('%s', (_label, latest, previous, change, expected) => {
    expect(nextVersion(latest, previous, { ...base, ...change })).toEqual(expected);
  });

  it.each([
    ['explicit lower', { job: 'y', version: '1.2.2' }, 'greater than the latest version 1.2.3'],
    ['explicit equal with changes', { job: 'y', version: '1.2.3' }, 'greater than the latest version 1.2.3'],
    ['malformed', { version: 'v1.3' }, 'X.Y.Z'],
    ['prerelease', { version: '1.3.0-beta.1' }, 'X.Y.Z'],
  ])('rejects %s', (_label, change, message) => {
    try {
      nextVersion('1.2.3', base, { ...base, ...change });
      throw new Error('expected rejection');
    } catch (e) {
      expect(e).toBeInstanceOf(KnotError);
      expect((e as KnotError).type).toBe(ErrorType.Validation);
      expect((e as KnotError).errors).toEqual([{ path: 'version', message: expect.stringContaining(message) }]);
    }
  });
});

describe('resolveTemplateRef', () => {
  const versions = ['1.0.0', '1.2.0', '1.2.10', '1.10.1', '2.0.0', '0.9.0', '1.2.9'];
  it.each([
    [undefined, '2.0.0'],
    ['', '2.0.0'],
    ['latest', '2.0.0'],
    ['x.x.x', '2.0.0'],
    ['*.*.*', '2.0.0'],
    ['1.x.x', '1.10.1'],
    ['1.X.X', '1.10.1'],
    ['1.2.x', '1.2.10'],
    ['0.x.x', '0.9.0'],
    ['1.2.9', '1.2.9'],
    ['1.2.0', '1.2.0'],
    ['3.x.x', null],
    ['1.3.x', null],
    ['1.2.1', null],
  ])('%j → %j', (ref, expected) => {
    expect(resolveTemplateRef(versions, ref)).toBe(expected);
  });

  it('resolves nothing from no versions and ignores non-semver entries', () => {
    expect(resolveTemplateRef([], 'latest')).toBeNull();
    expect(resolveTemplateRef(['1.0.0', '2.0.0-rc.1', 'garbage'], undefined)).toBe('1.0.0');
  });

  it.each(['1', '1.x', '1.2.3.4', 'v1.2.3', '1.2.3-beta', 'x.1.x', '1.x.2', '01.2.3', 'newest', ' 1.2.3'])('rejects %j with path templateVersion', (ref) => {
    expect(checkTemplateRef(ref)).toEqual([{ path: 'templateVersion', message: expect.any(String) }]);
    expect(() => resolveTemplateRef(['1.2.3'], ref)).toThrow(KnotError);
  });
});

describe('isUpdateAvailable', () => {
  it.each([
    ['aaa', 'aaa', false],
    ['aaa', 'bbb', true],
    [undefined, 'bbb', false],
    [null, 'bbb', false],
    ['aaa', null, false],
  ])('%j vs %j → %j', (applied, resolved, expected) => {
    expect(isUpdateAvailable(applied, resolved)).toBe(expected);
  });
});
