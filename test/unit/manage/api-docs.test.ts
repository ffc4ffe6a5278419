// docs/api.md is generated from the management API's route table (src/manage/routes.ts) and kept
// in sync here, like docs/configuration.md; the table itself is checked for what the generator
// and the router rely on.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { API_DOC_PATH, apiDocs } from '../../../scripts/gen-api-docs.js';
import { matchPath, ROUTES, type RouteSpec } from '../../../src/manage/routes.js';

const routes = ROUTES as readonly RouteSpec[];

test('docs/api.md is generated from the route table and up to date (npm run docs:api)', () => {
  assert.equal(readFileSync(API_DOC_PATH, 'utf8'), apiDocs());
});

test('docs/api.md has a section, an auth line and a curl example for every route', () => {
  const doc = readFileSync(API_DOC_PATH, 'utf8');
  for (const r of routes) {
    const at = doc.indexOf(`\n### \`${r.method} ${r.path}\`\n`);
    assert.ok(at >= 0, `${r.method} ${r.path} has no section`);
    const section = doc.slice(at + 1, doc.indexOf('\n### ', at + 1));
    assert.match(section, /\*\*Auth:\*\*/);
    assert.match(section, /\*\*Status:\*\*/);
    assert.match(
      section,
      new RegExp(`^curl .*"\\$API${r.sample.path.replace(/[?.*+()[\]$^|\\]/g, '\\$&')}"$`, 'm'),
    );
  }
});

test('the route table: unique ids and method+path, path parameters declared, examples that fit', () => {
  const ids = new Set<string>();
  const keys = new Set<string>();
  for (const r of routes) {
    assert.ok(!ids.has(r.id), `duplicate id ${r.id}`);
    ids.add(r.id);
    const key = `${r.method} ${r.path.replace(/:\w+/g, ':')}`;
    assert.ok(!keys.has(key), `duplicate route ${key}`);
    keys.add(key);
    assert.match(r.path, /^\/[\w/:-]*$/, r.path);
    const inPath = [...r.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
    const declared = r.params.filter((p) => p.in === 'path').map((p) => p.name);
    assert.deepEqual(declared, inPath, `${r.id}: path parameters`);
    for (const p of r.params)
      if (p.in === 'path') assert.equal(p.required, true, `${r.id}: ${p.name} is required`);
    // the example request is a request to this route
    const [path, query] = r.sample.path.split('?');
    assert.ok(matchPath(r.path, (path ?? '').replace(/\/+$/, '') || '/'), `${r.id}: sample path`);
    for (const name of new URLSearchParams(query ?? '').keys())
      assert.ok(
        r.params.some((p) => p.in === 'query' && p.name === name),
        `${r.id}: the example's ?${name}= is not a parameter`,
      );
    const bodyFields = r.params.filter((p) => p.in === 'body');
    if (r.sample.body !== undefined)
      for (const k of Object.keys(r.sample.body as object))
        assert.ok(
          bodyFields.some((p) => p.name === k),
          `${r.id}: body field ${k}`,
        );
    for (const p of bodyFields.filter((x) => x.required === true))
      assert.ok(
        r.sample.body !== undefined && p.name in (r.sample.body as object),
        `${r.id}: the example lacks ${p.name}`,
      );
    assert.ok(
      r.statuses.some(([c]) => c >= 200 && c < 400),
      `${r.id}: a success status`,
    );
    assert.ok(r.summary.endsWith('.') || r.summary.endsWith(')'), `${r.id}: summary sentence`);
  }
});
