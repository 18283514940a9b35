'use strict';

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const ms = require('..');

describe('short format', () => {
  it('rounds up to the next unit at the minute boundary', () => {
    assert.equal(ms(59999), '1m');
    assert.equal(ms(59500), '1m');
  });

  it('rounds up to the next unit at the hour boundary', () => {
    assert.equal(ms(3599999), '1h');
    assert.equal(ms(59.5 * 60 * 1000), '1h');
  });

  it('rounds up to the next unit at the day boundary', () => {
    assert.equal(ms(86399999), '1d');
    assert.equal(ms(23.5 * 3600 * 1000), '1d');
  });

  it('treats negative durations like positive ones', () => {
    assert.equal(ms(-59999), '-1m');
    assert.equal(ms(-3599999), '-1h');
    assert.equal(ms(-86399999), '-1d');
  });

  it('keeps values that do not reach the boundary', () => {
    assert.equal(ms(59499), '59s');
    assert.equal(ms(1800000), '30m');
    assert.equal(ms(23.4 * 3600 * 1000), '23h');
    assert.equal(ms(999.6), '999.6ms');
    assert.equal(ms(90000), '2m');
    assert.equal(ms(2 * 86400000), '2d');
  });
});

describe('long format', () => {
  it('rounds up to the next unit at each boundary', () => {
    assert.equal(ms(59999, { long: true }), '1 minute');
    assert.equal(ms(3599999, { long: true }), '1 hour');
    assert.equal(ms(86399999, { long: true }), '1 day');
    assert.equal(ms(-59999, { long: true }), '-1 minute');
  });

  it('keeps values that do not reach the boundary', () => {
    assert.equal(ms(59499, { long: true }), '59 seconds');
    assert.equal(ms(1000, { long: true }), '1 second');
    assert.equal(ms(90 * 60 * 1000, { long: true }), '2 hours');
    assert.equal(ms(500, { long: true }), '500 ms');
  });
});

describe('parsing', () => {
  it('is unchanged', () => {
    assert.equal(ms('1m'), 60000);
    assert.equal(ms('2 days'), 172800000);
    assert.equal(ms('-1.5h'), -5400000);
    assert.equal(ms('nonsense'), undefined);
  });
});
