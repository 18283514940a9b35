'use strict';

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const ms = require('..');

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('compound durations', () => {
  it('adds up parts separated by spaces', () => {
    assert.equal(ms('1h 30m'), 90 * MINUTE);
    assert.equal(ms('2d 4h'), 2 * DAY + 4 * HOUR);
    assert.equal(ms('1h  30m'), 90 * MINUTE);
    assert.equal(ms('3w 1d'), 22 * DAY);
  });

  it('adds up parts written together', () => {
    assert.equal(ms('1h30m'), 90 * MINUTE);
    assert.equal(ms('1d2h3m4s5ms'), DAY + 2 * HOUR + 3 * MINUTE + 4000 + 5);
  });

  it('accepts long unit names, spaces before units and decimals', () => {
    assert.equal(ms('1 hour 15 minutes'), 75 * MINUTE);
    assert.equal(ms('2 days 1 hr'), 2 * DAY + HOUR);
    assert.equal(ms('1m 30.5s'), 90500);
    assert.equal(ms('1 H 30 M'), 90 * MINUTE);
  });

  it('negates the whole duration with a leading minus', () => {
    assert.equal(ms('-1h 30m'), -90 * MINUTE);
    assert.equal(ms('-1d12h'), -36 * HOUR);
  });

  it('rejects parts that are not a number with a known unit', () => {
    assert.equal(ms('1h 30x'), undefined);
    assert.equal(ms('1h foo'), undefined);
    assert.equal(ms('1h 30'), undefined);
    assert.equal(ms('1h -30m'), undefined);
    assert.equal(ms('1mo'), undefined);
    assert.equal(ms('1h 30m'.repeat(20)), undefined);
  });
});

describe('single values', () => {
  it('parse as before', () => {
    assert.equal(ms('100'), 100);
    assert.equal(ms('1.5h'), 90 * MINUTE);
    assert.equal(ms('-2d'), -2 * DAY);
    assert.equal(ms('10 seconds'), 10000);
    assert.equal(ms('.5ms'), 0.5);
  });

  it('format as before', () => {
    assert.equal(ms(90 * MINUTE), '2h');
    assert.equal(ms(2 * DAY, { long: true }), '2 days');
  });
});
