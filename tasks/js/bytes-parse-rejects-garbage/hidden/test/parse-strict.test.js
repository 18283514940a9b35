'use strict';

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const bytes = require('..');

describe('bytes.parse of malformed strings', () => {
  it('returns null when text follows the number', () => {
    assert.equal(bytes.parse('12 apples'), null);
    assert.equal(bytes.parse('10 XB'), null);
    assert.equal(bytes.parse('12KBs'), null);
    assert.equal(bytes.parse('1.5.5'), null);
    assert.equal(bytes('64 mb of memory'), null);
  });

  it('returns null for other number notations', () => {
    assert.equal(bytes.parse('1e3'), null);
    assert.equal(bytes.parse('0x10'), null);
    assert.equal(bytes.parse('1,024'), null);
  });

  it('returns null for strings without a number', () => {
    assert.equal(bytes.parse(''), null);
    assert.equal(bytes.parse('KB'), null);
    assert.equal(bytes.parse('abc'), null);
  });
});

describe('bytes.parse of well-formed strings', () => {
  it('ignores whitespace around the value', () => {
    assert.equal(bytes.parse(' 1 KB '), 1024);
    assert.equal(bytes.parse('\t2mb\n'), 2 * 1024 * 1024);
  });

  it('reads a number with a B unit as bytes', () => {
    assert.equal(bytes.parse('512B'), 512);
    assert.equal(bytes.parse('512 b'), 512);
  });

  it('reads a plain number as bytes', () => {
    assert.equal(bytes.parse('1024'), 1024);
    assert.equal(bytes.parse('-1024'), -1024);
    assert.equal(bytes.parse('1.5'), 1);
  });

  it('reads numbers with units as before', () => {
    assert.equal(bytes.parse('1KB'), 1024);
    assert.equal(bytes.parse('-1KB'), -1024);
    assert.equal(bytes.parse('+2kb'), 2048);
    assert.equal(bytes.parse('1.5 GB'), 1.5 * 1024 * 1024 * 1024);
    assert.equal(bytes.parse(4096), 4096);
  });

  it('returns null for values that are not strings or numbers', () => {
    assert.equal(bytes.parse(undefined), null);
    assert.equal(bytes.parse({}), null);
    assert.equal(bytes.parse(null), null);
  });
});
