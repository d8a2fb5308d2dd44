/**
 * Folder dependency rules (`npm run lint`): dependencies point one way and there are no cycles.
 *   core → core; store → core, migrations; nomad → core; activities → core, store, nomad;
 *   workflows → core (activities as types); temporal → core, store (workflows as types);
 *   api → core, store, temporal; client → core (api as types); web → client, core;
 *   link → core (the agent link protocol, both sides import it); agent → core, link (runs inside a
 *   space: nothing of the server's);
 *   worker, cli, bench, tests compose the rest.
 * Type-only imports are erased at compile time, so "as types" rules allow them and nothing else.
 * Inside store/, each driver (store/sql, store/redis) stands alone, and the rest of knot reaches the
 * store through its interface (store/store.ts, store/open.ts), never a driver.
 */
const folders = ['core', 'link', 'agent', 'store', 'migrations', 'nomad', 'activities', 'workflows', 'temporal', 'api', 'client', 'web', 'worker', 'cli', 'bench', 'tests', 'scripts'];
const others = (allowed) => folders.filter((f) => !allowed.includes(f));
const paths = (names) => `^(${names.join('|')})/`;

/** `from` may import only `allowed` (plus itself); `typesOnly` may be imported with `import type` alone. */
function layer(from, allowed, typesOnly = []) {
  const rules = [
    {
      name: `${from}-imports`,
      comment: `${from}/ may import only ${[from, ...allowed].join(', ')}${typesOnly.length ? ` (and types from ${typesOnly.join(', ')})` : ''}`,
      severity: 'error',
      from: { path: paths([from]) },
      to: { path: paths(others([from, ...allowed, ...typesOnly])) },
    },
  ];
  if (typesOnly.length) {
    rules.push({
      name: `${from}-type-only-imports`,
      comment: `${from}/ may import ${typesOnly.join(', ')} as types only (import type)`,
      severity: 'error',
      from: { path: paths([from]) },
      to: { path: paths(typesOnly), dependencyTypesNot: ['type-only'] },
    });
  }
  return rules;
}

module.exports = {
  forbidden: [
    { name: 'no-cycles', comment: 'import cycles make load order matter and layers meaningless', severity: 'error', from: {}, to: { circular: true } },
    ...layer('core', []),
    ...layer('store', ['core', 'migrations']),
    ...layer('migrations', []),
    ...layer('link', ['core']),
    ...layer('agent', ['core', 'link']),
    ...layer('nomad', ['core']),
    ...layer('activities', ['core', 'store', 'nomad']),
    ...layer('workflows', ['core'], ['activities']),
    ...layer('temporal', ['core', 'store'], ['workflows']),
    ...layer('api', ['core', 'link', 'store', 'temporal']),
    ...layer('client', ['core', 'link'], ['api']),
    ...layer('web', ['client', 'core', 'link']),
    ...layer('worker', ['core', 'store', 'nomad', 'activities', 'temporal', 'workflows']),
    {
      name: 'store-drivers-apart',
      comment: 'a store driver must not depend on another driver: each is a sibling folder behind store/store.ts',
      severity: 'error',
      from: { path: '^store/(sql|redis)/' },
      to: { path: '^store/(sql|redis)/', pathNot: '^store/$1/' },
    },
    {
      name: 'store-through-its-interface',
      comment: 'knot uses the store through store/store.ts (opened by store/open.ts), never a driver directly',
      severity: 'error',
      from: { path: '^(api|activities|workflows|temporal|worker|cli|client|web)/' },
      to: { path: '^store/(sql|redis)/' },
    },
    {
      name: 'nothing-imports-api-or-cli',
      comment: 'api/ and cli/ are entry points: only tests, bench and cli itself may load them',
      severity: 'error',
      from: { path: '^(core|link|agent|store|migrations|nomad|activities|workflows|temporal|worker)/' },
      to: { path: '^(api|cli)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'agent-is-its-own-part',
      comment: 'the agent runs inside a space: only the knot command (cli), tests and bench load it',
      severity: 'error',
      from: { path: '^(core|link|store|migrations|nomad|activities|workflows|temporal|api|client|web|worker)/' },
      to: { path: '^agent/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
