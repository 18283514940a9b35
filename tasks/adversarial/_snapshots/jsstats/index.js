'use strict';
// Counting words in text.

function words(text) {
  return text.split(' ');
}

function wordCount(text) {
  return words(text).length;
}

module.exports = { words, wordCount };
