'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { wordCount } = require('../index.js');

test('counts single-spaced words', () => {
  assert.strictEqual(wordCount('a b c'), 3);
});
