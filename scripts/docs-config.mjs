// Regenerates the configuration reference in README.md from the schema (run after `npm run build`).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const table = execFileSync('node', ['dist/src/cli/main.js', 'config', 'reference'], { encoding: 'utf8' }).trim();
const readme = readFileSync('README.md', 'utf8');
const start = '<!-- config-reference:start -->';
const end = '<!-- config-reference:end -->';
const i = readme.indexOf(start);
const j = readme.indexOf(end);
if (i < 0 || j < 0) throw new Error('README.md has no config-reference markers');
writeFileSync('README.md', readme.slice(0, i + start.length) + '\n' + table + '\n' + readme.slice(j));
