'use strict';

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const semver = require('..');

const cli = (...args) => spawnSync(process.execPath, [path.join(__dirname, '..', 'bin', 'semver.js'), ...args],
  { encoding: 'utf8' });

describe('RELEASE_TYPES', () => {
  it('lists every increment inc understands, in order', () => {
    assert.deepEqual(semver.RELEASE_TYPES,
      ['major', 'premajor', 'minor', 'preminor', 'patch', 'prepatch', 'prerelease', 'release']);
  });

  it('is the same list in internal/constants', () => {
    const { RELEASE_TYPES } = require('../internal/constants');
    assert.ok(Array.isArray(RELEASE_TYPES));
    assert.equal(RELEASE_TYPES, semver.RELEASE_TYPES);
  });

  it('names only increments that inc accepts', () => {
    for (const type of semver.RELEASE_TYPES) {
      assert.notEqual(semver.inc('1.2.3-beta.1', type), null, type);
    }
  });
});

describe('inc release', () => {
  it('drops the prerelease part', () => {
    assert.equal(semver.inc('1.2.3-beta.4', 'release'), '1.2.3');
    assert.equal(semver.inc('2.0.0-rc.1', 'release'), '2.0.0');
    assert.equal(semver.inc('0.1.0-0', 'release'), '0.1.0');
    assert.equal(new semver.SemVer('1.0.0-alpha').inc('release').version, '1.0.0');
  });

  it('refuses a version that is not a prerelease', () => {
    assert.throws(() => new semver.SemVer('1.2.3').inc('release'), /1\.2\.3 is not a prerelease/);
    assert.equal(semver.inc('1.2.3', 'release'), null);
  });
});

describe('other increments', () => {
  it('work as before', () => {
    assert.equal(semver.inc('1.2.3', 'minor'), '1.3.0');
    assert.equal(semver.inc('1.2.3', 'prerelease', 'beta'), '1.2.4-beta.0');
    assert.equal(semver.inc('1.2.3-beta.0', 'prerelease'), '1.2.3-beta.1');
    assert.equal(semver.inc('1.2.3-beta.0', 'patch'), '1.2.3');
    assert.equal(semver.inc('1.2.3', 'bogus'), null);
  });
});

describe('semver command', () => {
  it('increments a prerelease to its release', () => {
    const run = cli('-i', 'release', '1.2.3-beta.4');
    assert.equal(run.status, 0);
    assert.equal(run.stdout.trim(), '1.2.3');
  });

  it('fails on an increment that cannot be applied', () => {
    const run = cli('-i', 'release', '1.2.3');
    assert.equal(run.status, 1);
    assert.equal(run.stdout.trim(), '');
    assert.match(run.stderr, /release/);
  });

  it('increments as before', () => {
    assert.equal(cli('-i', 'minor', '1.2.3').stdout.trim(), '1.3.0');
    assert.equal(cli('-i', '1.2.3').stdout.trim(), '1.2.4');
    assert.equal(cli('-i', 'prerelease', '--preid', 'rc', '1.2.3').stdout.trim(), '1.2.4-rc.0');
  });
});
