'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { wordCount } = require('../index.js');

test('an empty text has no words', () => {
  assert.strictEqual(wordCount(''), 0);
});

test('runs of whitespace separate words once', () => {
  assert.strictEqual(wordCount('  the quick\n\nbrown   fox\t'), 4);
});
