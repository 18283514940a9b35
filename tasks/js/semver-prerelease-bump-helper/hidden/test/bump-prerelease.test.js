'use strict';

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const semver = require('..');
const identifiers = require('../internal/identifiers');

describe('bumpPrerelease', () => {
  it('starts a prerelease at 0', () => {
    assert.deepEqual(identifiers.bumpPrerelease([]), [0]);
    assert.deepEqual(identifiers.bumpPrerelease([], 'beta'), ['beta', 0]);
  });

  it('increments the last numeric identifier', () => {
    assert.deepEqual(identifiers.bumpPrerelease(['beta', 1]), ['beta', 2]);
    assert.deepEqual(identifiers.bumpPrerelease([1, 'x', 2]), [1, 'x', 3]);
    assert.deepEqual(identifiers.bumpPrerelease([4, 'x']), [5, 'x']);
    assert.deepEqual(identifiers.bumpPrerelease(['x']), ['x', 0]);
  });

  it('switches to the given identifier', () => {
    assert.deepEqual(identifiers.bumpPrerelease(['beta', 1], 'beta'), ['beta', 2]);
    assert.deepEqual(identifiers.bumpPrerelease(['alpha', 7], 'beta'), ['beta', 0]);
    assert.deepEqual(identifiers.bumpPrerelease(['beta'], 'beta'), ['beta', 0]);
    assert.deepEqual(identifiers.bumpPrerelease(['beta', 'x'], 'beta'), ['beta', 0]);
  });

  it('leaves its argument alone', () => {
    const prerelease = ['beta', 1];
    identifiers.bumpPrerelease(prerelease, 'rc');
    identifiers.bumpPrerelease(prerelease);
    assert.deepEqual(prerelease, ['beta', 1]);
  });

  it('is the code SemVer#inc runs', () => {
    const source = fs.readFileSync(path.join(__dirname, '..', 'classes', 'semver.js'), 'utf8');
    assert.match(source, /bumpPrerelease\(/);
  });
});

describe('identifiers module', () => {
  it('still compares identifiers', () => {
    assert.equal(identifiers.compareIdentifiers('1', '2'), -1);
    assert.equal(identifiers.compareIdentifiers('alpha', '2'), 1);
    assert.equal(identifiers.rcompareIdentifiers('1', '2'), 1);
  });
});

describe('increments', () => {
  it('behave as before', () => {
    assert.equal(semver.inc('1.2.3', 'prerelease'), '1.2.4-0');
    assert.equal(semver.inc('1.2.3-0', 'prerelease'), '1.2.3-1');
    assert.equal(semver.inc('1.2.3-beta.1', 'prerelease', 'beta'), '1.2.3-beta.2');
    assert.equal(semver.inc('1.2.3-alpha.9', 'prerelease', 'beta'), '1.2.3-beta.0');
    assert.equal(semver.inc('1.2.3-beta.x', 'prerelease', 'beta'), '1.2.3-beta.0');
    assert.equal(semver.inc('1.2.3', 'premajor', 'rc'), '2.0.0-rc.0');
    assert.equal(semver.inc('1.2.3', 'preminor'), '1.3.0-0');
    assert.equal(semver.inc('1.2.3-4', 'prepatch', 'dev'), '1.2.4-dev.0');
    assert.equal(semver.inc('1.2.3-1.x.2', 'prerelease'), '1.2.3-1.x.3');
  });

  it('do not change the version they started from', () => {
    const version = new semver.SemVer('1.2.3-beta.1');
    const copy = new semver.SemVer(version.version).inc('prerelease');
    assert.equal(version.version, '1.2.3-beta.1');
    assert.equal(copy.version, '1.2.3-beta.2');
  });
});
