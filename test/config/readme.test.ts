/** The README's configuration reference is the one generated from the schema. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { configReference } from '../../src/config/reference.js';

it('README configuration reference matches the schema (run `npm run docs:config`)', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  assert.ok(readme.includes(configReference()), 'README.md is out of date: run npm run docs:config');
  assert.ok(readme.includes('npm install && npm start'));
});
