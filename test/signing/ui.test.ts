/**
 * The web UI shows signatures: on a repository page each tag carries a badge (verified with the
 * signer's fingerprint, signed but not verified, unsigned), the manifest page lists the
 * signatures with signer and reason, and project settings show the signing policy. Headless
 * Chromium against a real server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { api } from '../helpers/auth.js';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { browserMissing, launch, openPage, seriousViolations } from '../helpers/browser.js';
import { pushImage } from '../helpers/oci.js';
import { nodeKey, payloadFor, pushCosign } from './helpers.js';

const missing = browserMissing();
const R = 'web/app';

describe('signatures in the web UI', { skip: missing ?? undefined }, () => {
  let b: TestBerth;
  let browser: Browser;
  const trusted = nodeKey('ec-p256');
  const stranger = nodeKey('ec-p256');
  let fingerprint: string;
  let signedDigest: string;

  before(async () => {
    b = await startBerth();
    browser = await launch();
    assert.equal((await api(b.url, 'POST', '/projects', undefined, { name: 'web' })).status, 201);
    const set = await api(b.url, 'PUT', '/projects/web/signing', undefined, { verify: { keys: [trusted.publicKey], enforce: false } });
    fingerprint = set.body.verify.keys[0].fingerprint;
    const signed = await pushImage(b.url, R, 'signed');
    signedDigest = signed.digest;
    await pushCosign(b.url, R, { digest: signed.digest, size: signed.manifest.length }, [{ payload: payloadFor(R, signed.digest), key: trusted }], 'tag');
    const other = await pushImage(b.url, R, 'stranger');
    await pushCosign(b.url, R, { digest: other.digest, size: other.manifest.length }, [{ payload: payloadFor(R, other.digest), key: stranger }], 'referrer');
    await pushImage(b.url, R, 'plain');
  });
  after(async () => {
    await browser?.close();
    await b?.close();
  });

  it('shows a badge per tag, the signatures of a manifest, and the project policy', async () => {
    const t = await openPage(browser, b.url);
    try {
      await t.page.goto(`/ui/r/${R}`);
      const badge = (tag: string) => t.page.locator(`tr[data-tag="${tag}"] [data-signature]`);
      await badge('signed').waitFor();
      assert.equal(await badge('signed').getAttribute('data-signature'), 'verified');
      assert.match((await badge('signed').textContent())!, new RegExp(`verified · ${fingerprint.slice(0, 19)}`));
      assert.equal(await badge('stranger').getAttribute('data-signature'), 'unverified');
      assert.equal(await badge('plain').getAttribute('data-signature'), 'unsigned');
      assert.deepEqual(await seriousViolations(t.page), [], 'repository page');

      await t.page.goto(`/ui/r/${R}/-/manifests/${signedDigest}?tag=signed`);
      const section = t.page.locator('section[aria-labelledby="sig-h"]');
      await section.getByRole('cell', { name: 'signed by a trusted key' }).waitFor();
      assert.match((await section.textContent())!, /cosign/);

      await t.page.goto('/ui/projects/web/settings');
      await t.page.getByRole('heading', { name: 'Signatures' }).waitFor();
      assert.match((await t.page.getByLabel('Trusted keys').textContent())!, new RegExp(fingerprint));
      assert.deepEqual(await seriousViolations(t.page), [], 'project settings');
      assert.deepEqual(t.errors, []);
    } finally {
      await t.close();
    }
  });
});
