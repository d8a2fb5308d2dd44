import { ErrorType, KnotError } from '../../../core/errors';
import {
  checkParameterDefinitions,
  optionalParameterNames,
  sampleParameterValues,
  secretParameterNames,
  unsafeRegexReason,
  validateParameterValues,
  type ParameterDef,
} from '../../../core/parameters';

const defs: ParameterDef[] = [
  { variable: 'name', type: 'string', required: true, validation: '^[a-z]+$', invalidation: 'root' },
  { variable: 'notes', type: 'multiline' },
  { variable: 'gpu', type: 'boolean', defaultValue: false },
  { variable: 'cpus', type: 'number', min: 1, max: 8, defaultValue: 2 },
  { variable: 'flavour', type: 'enum', options: ['small', 'large'], defaultValue: 'small' },
  { variable: 'token', type: 'password' },
];

function fieldErrors(values: Record<string, unknown>, partial = false): { path: string; message: string }[] {
  try {
    validateParameterValues(defs, values, { partial });
  } catch (e) {
    if (e instanceof KnotError && e.type === ErrorType.ParameterInvalid) return e.errors;
    throw e;
  }
  throw new Error('expected KnotError(ParameterInvalid)');
}

describe('validateParameterValues', () => {
  it('normalises types and applies defaults', () => {
    expect(validateParameterValues(defs, { name: 'alice', cpus: '4', gpu: 'true', notes: 'a\nb', token: 's3cret' })).toEqual({
      name: 'alice',
      notes: 'a\nb',
      gpu: true,
      cpus: 4,
      flavour: 'small',
      token: 's3cret',
    });
  });

  it('leaves out optional parameters without value or default', () => {
    expect(validateParameterValues(defs, { name: 'bob' })).toEqual({ name: 'bob', gpu: false, cpus: 2, flavour: 'small' });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['string: valid', { name: 'abc' }, 'ok'],
    ['string: required missing', {}, 'is required'],
    ['string: required empty', { name: '' }, 'is required'],
    ['string: null counts as missing', { name: null }, 'is required'],
    ['string: validation fails', { name: 'ABC' }, 'does not match'],
    ['string: invalidation matches', { name: 'rootx' }, 'matches the forbidden pattern'],
    ['string: not a string', { name: 5 }, 'must be a string'],
    ['string: newline', { name: 'ab\ncd' }, 'single line'],
    ['string: over 1 KiB', { name: 'a'.repeat(1025) }, 'at most 1024 bytes'],
    ['string: multibyte over 1 KiB', { name: 'é'.repeat(513) }, 'at most 1024 bytes'],
    ['multiline: newlines ok', { name: 'a', notes: 'x\ny\r\nz' }, 'ok'],
    ['multiline: over 64 KiB', { name: 'a', notes: 'x'.repeat(65537) }, 'at most 65536 bytes'],
    ['boolean: true', { name: 'a', gpu: true }, 'ok'],
    ['boolean: "false"', { name: 'a', gpu: 'false' }, 'ok'],
    ['boolean: "yes"', { name: 'a', gpu: 'yes' }, 'true or false'],
    ['boolean: 1', { name: 'a', gpu: 1 }, 'true or false'],
    ['number: in range', { name: 'a', cpus: 8 }, 'ok'],
    ['number: numeric string', { name: 'a', cpus: ' 3 ' }, 'ok'],
    ['number: below min', { name: 'a', cpus: 0 }, 'at least 1'],
    ['number: above max', { name: 'a', cpus: 9 }, 'at most 8'],
    ['number: not numeric', { name: 'a', cpus: 'four' }, 'must be a number'],
    ['number: empty string', { name: 'a', cpus: '' }, 'must be a number'],
    ['number: infinity', { name: 'a', cpus: Infinity }, 'must be a number'],
    ['enum: option', { name: 'a', flavour: 'large' }, 'ok'],
    ['enum: not an option', { name: 'a', flavour: 'huge' }, 'one of small, large'],
    ['password: single line', { name: 'a', token: 'x\ny' }, 'single line'],
    ['unknown parameter', { name: 'a', colour: 'red' }, 'unknown parameter'],
  ])('%s', (_label, values, outcome) => {
    if (outcome === 'ok') {
      expect(() => validateParameterValues(defs, values)).not.toThrow();
    } else {
      const errors = fieldErrors(values);
      expect(errors).toHaveLength(1);
      expect(errors[0]?.message).toContain(outcome);
      expect(errors[0]?.path).toMatch(/^parameters\.[a-z]+$/);
    }
  });

  it('reports one error per bad field, unknown ones included', () => {
    const errors = fieldErrors({ cpus: 100, gpu: 'maybe', extra: 1, other: 2 });
    expect(errors.map((e) => e.path).sort()).toEqual(['parameters.cpus', 'parameters.extra', 'parameters.gpu', 'parameters.name', 'parameters.other']);
  });

  it('partial: checks only given values and applies no defaults', () => {
    expect(validateParameterValues(defs, { cpus: 3 }, { partial: true })).toEqual({ cpus: 3 });
    expect(fieldErrors({ cpus: 30 }, true).map((e) => e.path)).toEqual(['parameters.cpus']);
  });
});

describe('checkParameterDefinitions', () => {
  it('accepts good definitions (including Loft-style string defaults)', () => {
    expect(checkParameterDefinitions(defs)).toEqual([]);
    expect(checkParameterDefinitions([{ variable: 'n', type: 'number', defaultValue: '3' }])).toEqual([]);
  });

  it.each<[string, unknown, string, string]>([
    ['enum without options', [{ variable: 'a', type: 'enum' }], 'parameters[0].options', 'at least one option'],
    ['enum with duplicate options', [{ variable: 'a', type: 'enum', options: ['x', 'x'] }], 'parameters[0].options', 'unique'],
    ['options on a string', [{ variable: 'a', type: 'string', options: ['x'] }], 'parameters[0].options', 'only allowed for enum'],
    ['min on a string', [{ variable: 'a', type: 'string', min: 1 }], 'parameters[0].min', 'only allowed for number'],
    ['min above max', [{ variable: 'a', type: 'number', min: 5, max: 1 }], 'parameters[0].min', 'greater than max'],
    ['regex that does not compile', [{ variable: 'a', type: 'string', validation: '([a-z' }], 'parameters[0].validation', 'does not compile'],
    ['catastrophic regex', [{ variable: 'a', type: 'string', invalidation: '^(a+)+$' }], 'parameters[0].invalidation', 'catastrophic'],
    ['regex on a boolean', [{ variable: 'a', type: 'boolean', validation: 'x' }], 'parameters[0].validation', 'only allowed for string'],
    ['default not an option', [{ variable: 'a', type: 'enum', options: ['x'], defaultValue: 'y' }], 'parameters[0].defaultValue', 'default is not a valid value'],
    ['default out of range', [{ variable: 'a', type: 'number', max: 3, defaultValue: 4 }], 'parameters[0].defaultValue', 'at most 3'],
    ['default fails validation', [{ variable: 'a', type: 'string', validation: '^\\d+$', defaultValue: 'x' }], 'parameters[0].defaultValue', 'does not match'],
    ['duplicate variable', [{ variable: 'a', type: 'string' }, { variable: 'a', type: 'number' }], 'parameters[1].variable', 'duplicate'],
    ['bad variable name', [{ variable: '1abc', type: 'string' }], 'parameters[0].variable', 'must start with a letter'],
    ['dotted variable name', [{ variable: 'foo.bar', type: 'string' }], 'parameters[0].variable', 'must start with a letter'],
    ['unknown type', [{ variable: 'a', type: 'date' }], 'parameters[0].type', ''],
    ['unknown field', [{ variable: 'a', type: 'string', colour: 'red' }], 'parameters[0]', ''],
    ['not a list', { variable: 'a' }, 'parameters', ''],
  ])('%s → %s', (_label, input, path, message) => {
    const errors = checkParameterDefinitions(input);
    expect(errors).toContainEqual({ path, message: expect.stringContaining(message) });
  });
});

describe('unsafeRegexReason', () => {
  it.each([['^[a-z]+$'], ['^(ab)+$'], ['^(a|b)*c$'], ['(\\d{1,3}\\.){3}\\d{1,3}'], ['^(?:x+)?$'], ['[(a+)+]'], ['\\(a+\\)+']])('accepts %s', (source) => {
    expect(unsafeRegexReason(source)).toBeUndefined();
  });

  it.each([['(a+)+'], ['(a*)*'], ['^(\\w+\\s?)*$'], ['((ab)+c)*'], ['(x+){2,}'], ['(?:a+)+'], ['x'.repeat(513)]])('rejects %s', (source) => {
    expect(unsafeRegexReason(source)).toBeDefined();
  });
});

describe('helpers', () => {
  it('secretParameterNames lists password parameters', () => {
    expect(secretParameterNames(defs)).toEqual(['token']);
  });

  it('optionalParameterNames lists those that may have no value', () => {
    expect(optionalParameterNames(defs)).toEqual(['notes', 'token']);
  });

  it('sampleParameterValues gives defaults or valid samples, leaving out optional ones without default', () => {
    const samples = sampleParameterValues([
      ...defs,
      { variable: 'n', type: 'number', required: true, min: 4 },
      { variable: 'm', type: 'number', required: true, max: -2 },
      { variable: 'disk', type: 'string', required: true, validation: '^\\d+G$' },
      { variable: 'host', type: 'string', required: true, placeholder: 'db.internal', validation: '\\.' },
      { variable: 'e', type: 'enum', required: true, options: ['x', 'y'] },
      { variable: 'flag', type: 'boolean', required: true },
    ]);
    expect(samples).toEqual({ name: 'sample', gpu: false, cpus: 2, flavour: 'small', n: 4, m: -2, disk: '10G', host: 'db.internal', e: 'x', flag: false });
  });
});
