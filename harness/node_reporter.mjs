// A reporter for Node's built-in test runner (`node --test --test-reporter=THIS_FILE`), written for resq-runner.
// Node 18 has no JUnit reporter and its TAP output drops the file of each test, so this writes one JSON object per
// finished test: {"file": path relative to the working directory, "path": [suite, ..., test], "status": ...}.
import { relative } from 'node:path';

export default async function* resqReporter(source) {
  const open = new Map(); // file -> names of the tests currently running, by nesting level
  for await (const event of source) {
    const data = event.data || {};
    const file = data.file ? relative(process.cwd(), data.file) : '';
    if (event.type === 'test:start') {
      const stack = (open.get(file) || []).slice(0, data.nesting);
      stack.push(data.name);
      open.set(file, stack);
    } else if (event.type === 'test:pass' || event.type === 'test:fail') {
      const isSuite = data.details && data.details.type === 'suite';
      if (isSuite && event.type === 'test:pass') continue;
      const wholeFile = data.nesting === 0 && data.file && data.name === data.file;
      const names = wholeFile ? [] : [...(open.get(file) || []).slice(0, data.nesting), data.name];
      let status = event.type === 'test:pass' ? 'passed' : 'failed';
      if (data.skip || data.todo) status = 'skipped';
      yield JSON.stringify({ file, path: names, status }) + '\n';
    }
  }
}
