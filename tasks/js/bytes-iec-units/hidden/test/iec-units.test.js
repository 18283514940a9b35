'use strict';

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const bytes = require('..');

describe('parse', () => {
  it('understands IEC unit names', () => {
    assert.equal(bytes.parse('10MiB'), 10 * 1024 * 1024);
    assert.equal(bytes.parse('1 KiB'), 1024);
    assert.equal(bytes.parse('1.5 GiB'), 1.5 * 1024 * 1024 * 1024);
    assert.equal(bytes.parse('2TiB'), 2 * Math.pow(1024, 4));
    assert.equal(bytes.parse('1PiB'), Math.pow(1024, 5));
  });

  it('ignores the case of IEC unit names', () => {
    assert.equal(bytes.parse('512kib'), 512 * 1024);
    assert.equal(bytes.parse('3 MIB'), 3 * 1024 * 1024);
    assert.equal(bytes('4gib'), 4 * 1024 * 1024 * 1024);
  });

  it('keeps the existing units', () => {
    assert.equal(bytes.parse('1KB'), 1024);
    assert.equal(bytes.parse('1.5mb'), 1.5 * 1024 * 1024);
    assert.equal(bytes.parse('-2 GB'), -2 * 1024 * 1024 * 1024);
    assert.equal(bytes.parse('100'), 100);
    assert.equal(bytes.parse(42), 42);
  });
});

describe('format', () => {
  it('prints an IEC unit given as the unit option', () => {
    assert.equal(bytes.format(1048576, { unit: 'MiB' }), '1MiB');
    assert.equal(bytes.format(1536, { unit: 'KiB' }), '1.5KiB');
    assert.equal(bytes.format(1073741824, { unit: 'GiB', unitSeparator: ' ' }), '1 GiB');
  });

  it('picks IEC units itself with binaryUnits', () => {
    assert.equal(bytes.format(1536, { binaryUnits: true }), '1.5KiB');
    assert.equal(bytes.format(3 * 1024 * 1024 * 1024, { binaryUnits: true, unitSeparator: ' ' }), '3 GiB');
    assert.equal(bytes(5 * Math.pow(1024, 4), { binaryUnits: true }), '5TiB');
    assert.equal(bytes.format(-2048, { binaryUnits: true }), '-2KiB');
    assert.equal(bytes.format(100, { binaryUnits: true }), '100B');
  });

  it('keeps the existing output', () => {
    assert.equal(bytes.format(1536), '1.5KB');
    assert.equal(bytes.format(1024 * 1024, { unit: 'kb', thousandsSeparator: ',' }), '1,024kb');
    assert.equal(bytes.format(1000), '1000B');
    assert.equal(bytes.format(1.5 * 1024 * 1024 * 1024, { fixedDecimals: true }), '1.50GB');
  });
});
