'use strict';

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');

const builds = {
  default: require('..'),
  react: require('../react'),
  es6: require('../es6'),
  'es6 react': require('../es6/react'),
};

function bare(entries) {
  const object = Object.create(null);
  Object.assign(object, entries);
  return object;
}

for (const [name, equal] of Object.entries(builds)) {
  describe(`${name} build`, () => {
    it('compares objects without a prototype by their keys', () => {
      assert.equal(equal(bare({ a: 1, b: 'x' }), bare({ a: 1, b: 'x' })), true);
      assert.equal(equal(bare({ a: 1 }), bare({ a: 2 })), false);
      assert.equal(equal(bare({ a: 1 }), bare({ a: 1, b: 2 })), false);
      assert.equal(equal(bare({}), bare({})), true);
    });

    it('compares them when nested', () => {
      assert.equal(equal({ query: bare({ q: 'x' }) }, { query: bare({ q: 'x' }) }), true);
      assert.equal(equal([bare({ n: [1, 2] })], [bare({ n: [1, 3] })]), false);
    });

    it('does not mix them up with ordinary objects', () => {
      assert.equal(equal(bare({ a: 1 }), { a: 1 }), false);
    });

    it('compares everything else as before', () => {
      assert.equal(equal({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }), true);
      assert.equal(equal(new Date(5), new Date(5)), true);
      assert.equal(equal(new Date(5), new Date(6)), false);
      assert.equal(equal(/a/g, /a/g), true);
      assert.equal(equal(/a/g, /a/i), false);
      assert.equal(equal(NaN, NaN), true);
      const money = (cents) => ({ cents, valueOf() { return this.cents; } });
      assert.equal(equal(money(5), money(5)), true);
      assert.equal(equal([1, 2], [1, 2, 3]), false);
    });
  });
}
