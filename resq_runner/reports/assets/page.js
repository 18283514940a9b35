// The page's one script: the table of tasks (or runs) rendered from the JSON in #grid-data a page at a time, with
// a text filter, a facet (outcome or change), sorting and paging; and the task detail view, rendered on demand from
// the JSON in #details-K (a block of spec.detail_chunk tasks' details, parsed when one of them is opened). Every
// value is written with textContent or a DOM property, never parsed as HTML.
(function () {
  'use strict';
  const specNode = document.getElementById('grid-data');
  if (!specNode) return;
  const spec = JSON.parse(specNode.textContent);
  const table = document.getElementById(spec.id);
  const tbody = table.tBodies[0];
  const box = document.getElementById('task-filter');
  const facetBox = document.getElementById('facet-filter');
  const sizeBox = document.getElementById('page-size');
  const count = document.getElementById('task-count');
  const pager = document.getElementById('pager');
  const collator = new Intl.Collator('en', {numeric: true, sensitivity: 'base'});
  const state = {query: '', facet: '', sort: -1, direction: 1, page: 0, size: spec.page_size, matched: []};

  function el(tag, props, children) {
    const node = document.createElement(tag);
    Object.entries(props || {}).forEach(([key, value]) => {
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('data-') || key.startsWith('aria-') || key === 'role' || key === 'style') {
        node.setAttribute(key, value);
      } else node[key] = value;
    });
    (children || []).forEach((child) => node.append(child));
    return node;
  }

  function badge(value, kind) {
    const colour = spec.colours[value] || '#6e7781';
    return el('span', {class: kind || 'outcome', text: value, style: 'background:' + colour});
  }

  function number(value, digits) {
    if (value === null || value === undefined) return '—';
    return value.toLocaleString('en-US', {minimumFractionDigits: digits, maximumFractionDigits: digits});
  }

  // ----- cells -------------------------------------------------------------------------------------------------

  function cellText(column, value) {
    if (value === null || value === undefined) return '—';
    switch (column.type) {
      case 'num': return number(value, column.digits);
      case 'frac': return value[0] + '/' + value[1];
      case 'pct': return number(value * 100, 1) + ' %';
      case 'list': return value.join(', ');
      case 'links': return value.map((link) => link[0]).join(' ');
      case 'series': return value[0];
      default: return String(value);
    }
  }

  function sortKey(column, value) {
    if (value === null || value === undefined) return -Infinity;
    switch (column.type) {
      case 'num': case 'pct': return value;
      case 'frac': return value[1] ? value[0] / value[1] : -1;
      default: return cellText(column, value);
    }
  }

  function renderCell(column, value) {
    const td = el('td', {class: column.css || ''});
    if (value === null || value === undefined) {
      td.textContent = '—';
    } else if (column.type === 'task' && spec.details) {
      td.append(el('a', {href: '#task=' + encodeURIComponent(value), text: value}));
    } else if (column.type === 'outcome') {
      td.append(badge(value));
    } else if (column.type === 'change') {
      td.className = 'change-' + value.replace(/ /g, '-');
      td.textContent = value;
    } else if (column.type === 'links') {
      value.forEach((link, index) => {
        if (index) td.append(' ');
        td.append(el('a', {href: link[1], text: link[0]}));
      });
      if (!value.length) td.textContent = '—';
    } else if (column.type === 'series') {
      td.append(el('span', {class: 'swatch', style: 'background:' + value[1], 'aria-hidden': 'true'}), value[0]);
    } else if (column.css === 'wrap') {  // a block keeps the column readable when the table is squeezed
      td.append(el('div', {text: cellText(column, value), title: cellText(column, value)}));
    } else {
      td.textContent = cellText(column, value);
    }
    return td;
  }

  const rows = spec.rows.map((row, index) => ({
    index: index, cells: row[0], attrs: row[1],
    text: row[0].map((value, i) => cellText(spec.columns[i], value)).join('\u0001').toLowerCase(),
  }));

  function renderRow(row) {
    const tr = el('tr');
    spec.attrs.forEach((name, i) => tr.setAttribute('data-' + name, row.attrs[i]));
    tr.dataset.index = row.index;
    row.cells.forEach((value, i) => tr.append(renderCell(spec.columns[i], value)));
    return tr;
  }

  // ----- filter, sort, page ------------------------------------------------------------------------------------

  function facetOf(row) {
    return spec.facet ? spec.facet.columns.map((i) => row.cells[i]) : [];
  }

  function recompute() {
    const query = state.query.trim().toLowerCase();
    let matched = rows.filter((row) => (!query || row.text.indexOf(query) >= 0) &&
      (!state.facet || facetOf(row).indexOf(state.facet) >= 0));
    if (state.sort >= 0) {
      const column = spec.columns[state.sort];
      const keyed = matched.map((row) => [sortKey(column, row.cells[state.sort]), row]);
      keyed.sort((a, b) => state.direction * (typeof a[0] === 'number' && typeof b[0] === 'number'
        ? a[0] - b[0] : collator.compare(String(a[0]), String(b[0]))) || a[1].index - b[1].index);
      matched = keyed.map((pair) => pair[1]);
    }
    state.matched = matched;
    render();
  }

  function pages() {
    return state.size ? Math.max(1, Math.ceil(state.matched.length / state.size)) : 1;
  }

  function render() {
    state.page = Math.min(state.page, pages() - 1);
    const start = state.size ? state.page * state.size : 0;
    const shown = state.size ? state.matched.slice(start, start + state.size) : state.matched;
    const fragment = document.createDocumentFragment();
    shown.forEach((row) => fragment.append(renderRow(row)));
    if (!shown.length) {
      fragment.append(el('tr', {class: 'empty'}, [el('td', {colSpan: spec.columns.length, class: 'empty',
        text: 'no ' + spec.noun + ' match the filter'})]));
    }
    tbody.replaceChildren(fragment);
    const matched = state.matched.length;
    count.textContent = shown.length === matched
      ? matched + ' of ' + rows.length + ' ' + spec.noun + ' shown'
      : matched + ' of ' + rows.length + ' ' + spec.noun + ' match · rows ' + (start + 1) + '–' +
        (start + shown.length) + ' shown';
    count.setAttribute('data-shown', matched);
    count.setAttribute('data-page-rows', shown.length);
    renderPager();
  }

  function renderPager() {
    const total = pages();
    pager.replaceChildren();
    pager.hidden = total < 2;
    if (total < 2) return;
    const go = (page) => () => { state.page = page; render(); table.scrollIntoView({block: 'nearest'}); };
    pager.append(
      el('button', {type: 'button', text: '« first', disabled: state.page === 0, onclick: go(0)}),
      el('button', {type: 'button', text: '‹ previous', disabled: state.page === 0, onclick: go(state.page - 1)}),
      el('span', {text: 'page ' + (state.page + 1) + ' of ' + total, 'aria-live': 'polite'}),
      el('button', {type: 'button', text: 'next ›', disabled: state.page >= total - 1, onclick: go(state.page + 1)}),
      el('button', {type: 'button', text: 'last »', disabled: state.page >= total - 1, onclick: go(total - 1)}));
  }

  function setupHeaders() {
    Array.from(table.tHead.rows[0].cells).forEach((th, index) => {
      const button = el('button', {type: 'button', text: th.textContent});
      button.addEventListener('click', () => {
        state.direction = state.sort === index ? -state.direction : (spec.columns[index].type === 'num' ? -1 : 1);
        state.sort = index;
        Array.from(table.tHead.rows[0].cells).forEach((cell) => cell.removeAttribute('aria-sort'));
        th.setAttribute('aria-sort', state.direction > 0 ? 'ascending' : 'descending');
        recompute();
      });
      th.replaceChildren(button);
    });
  }

  function setupFacet() {
    if (!facetBox) return;
    const counts = new Map();
    rows.forEach((row) => new Set(facetOf(row)).forEach((value) => {
      if (value !== null) counts.set(value, (counts.get(value) || 0) + 1);
    }));
    facetBox.append(el('option', {value: '', text: 'every ' + spec.facet.label + ' (' + rows.length + ')'}));
    Array.from(counts.keys()).sort(collator.compare).forEach((value) =>
      facetBox.append(el('option', {value: value, text: value + ' (' + counts.get(value) + ')'})));
    facetBox.addEventListener('change', () => { state.facet = facetBox.value; state.page = 0; recompute(); });
  }

  let typing = null;
  box.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => { state.query = box.value; state.page = 0; recompute(); }, rows.length > 2000 ? 120 : 0);
  });
  if (sizeBox) {
    sizeBox.addEventListener('change', () => { state.size = Number(sizeBox.value); state.page = 0; render(); });
  }

  // ----- detail view -------------------------------------------------------------------------------------------

  const dialog = document.getElementById('task-detail');
  let current = null;

  function section(title, children, kind) {
    return el('section', {class: 'detail-part', 'data-part': kind || title.toLowerCase().replace(/[^a-z]+/g, '-'),
      'aria-label': title}, [el('h3', {text: title})].concat(children));
  }

  function contents(parts) {
    const nav = el('nav', {class: 'detail-nav', 'aria-label': 'parts of this task'});
    parts.forEach((part, index) => {
      const id = 'detail-part-' + index;
      part.id = id;
      nav.append(el('a', {href: '#', text: part.getAttribute('aria-label'), onclick: (event) => {
        event.preventDefault();
        part.scrollIntoView({block: 'start'});
      }}));
    });
    return nav;
  }

  function clippedNote(clipped, file, href) {
    if (!clipped.cut) return [];
    const where = {end: 'at the end', start: 'at the start', middle: 'in the middle'}[clipped.where];
    const note = el('div', {class: 'clipped', text: 'clipped ' + where + ': about ' + number(clipped.cut, 0) +
      ' characters left out; the whole file: '});
    note.append(el('a', {href: href, text: file}));
    return [note];
  }

  function diffBlock(text) {
    const pre = el('pre', {class: 'diff'});
    text.split('\n').forEach((line) => {
      let kind = '';
      if (/^(diff --git|index |--- |\+\+\+ |new file|deleted file|old mode|new mode|rename |similarity )/.test(line)) {
        kind = 'd-file';
      } else if (line.startsWith('@@')) kind = 'd-hunk';
      else if (line.startsWith('+')) kind = 'd-add';
      else if (line.startsWith('-')) kind = 'd-del';
      pre.append(el('span', {class: kind, text: line || ' '}));
    });
    return pre;
  }

  function facts(pairs) {
    const dl = el('dl', {class: 'facts'});
    pairs.filter((pair) => pair[1] !== '' && pair[1] !== null && pair[1] !== undefined).forEach((pair) => {
      dl.append(el('dt', {text: pair[0]}), el('dd', {}, [pair[1]]));
    });
    return dl;
  }

  function smallTable(columns, rowsOfCells, attrs) {
    const head = el('tr', {}, columns.map((c) => el('th', {text: c})));
    const body = rowsOfCells.map((cells) => el('tr', {}, cells.map((c) => el('td', {}, [c]))));
    return el('div', {class: 'scroll'}, [el('table', attrs || {}, [el('thead', {}, [head]), el('tbody', {}, body)])]);
  }

  function fileLink(detail, name) {
    const log = detail.logs.find((f) => f.name === name);
    return log ? log.href : '';
  }

  function message(msg) {
    const who = msg.role + (msg.name ? ' · ' + msg.name : '');
    const box = el('div', {class: 'msg role-' + msg.role.replace(/[^a-z]/gi, '')}, [el('div', {class: 'who', text: who})]);
    const cut = (clipped) => clipped.cut ? [el('div', {class: 'clipped',
      text: 'about ' + number(clipped.cut, 0) + ' characters left out in the middle'})] : [];
    if (msg.content.text) box.append(el('pre', {text: msg.content.text}), ...cut(msg.content));
    msg.tool_calls.forEach((call) => box.append(el('div', {class: 'tool-call'}, [
      el('span', {class: 'tool-name', text: 'tool call: ' + call.name}), el('pre', {text: call.arguments.text}),
      ...cut(call.arguments)])));
    return box;
  }

  function transcript(detail, record) {
    const parts = [];
    const meta = Object.entries(record.meta);
    if (meta.length) {
      parts.push(el('ul', {class: 'meta'}, meta.map((pair) =>
        el('li', {}, [el('span', {class: 'muted', text: pair[0] + ' '}), pair[1]]))));
    }
    if (record.messages.length) {
      const list = el('div', {class: 'messages'});
      const half = record.left_out ? Math.floor(record.messages.length / 2) : record.messages.length;
      record.messages.forEach((msg, index) => {
        if (index === half) {
          list.append(el('div', {class: 'left-out', text: '… ' + record.left_out + ' message(s) left out here; ' +
            'the whole record: ' + record.file + ' …'}));
        }
        list.append(message(msg));
      });
      parts.push(list);
    }
    record.tables.forEach((t) => parts.push(el('h4', {text: t.title}), smallTable(t.columns, t.rows)));
    if (record.text) parts.push(el('pre', {text: record.text.text}), ...clippedNote(record.text, record.file, record.href));
    const link = el('p', {}, ['the whole record: ', el('a', {href: record.href, text: record.file})]);
    return section(record.title + ' · ' + record.file, [link].concat(parts), 'transcript');
  }

  function renderDetail(detail) {
    const body = [];
    const samples = detail.samples.map((s) => {
      const line = el('div', {}, ['sample ' + s.sample + ', attempt ' + s.attempt + ': ', badge(s.outcome),
        ' ' + number(s.seconds, 1) + ' s ' + (s.reason ? '— ' + s.reason + ' ' : '')]);
      if (s.href) line.append(el('a', {href: s.href, text: 'logs'}));  // no href: the run kept no logs for it
      return line;
    });
    body.push(facts([['reason', detail.reason], ['kind', detail.kind], ['tags', detail.tags.join(', ')],
      ['samples', samples.length ? el('div', {}, samples) : 'no result yet']]));
    if (detail.tests.length) {
      const rowsOfCells = detail.tests.map((t) => [t.test, t.criterion || '—', badge(t.status, 'status')]);
      const left = Object.entries(detail.tests_left_out).map((pair) => pair[1] + ' ' + pair[0]).join(', ');
      body.push(section('Tests', [smallTable(['test', 'criterion', 'status'], rowsOfCells, {id: 'detail-tests'})]
        .concat(left ? [el('div', {class: 'clipped', text: 'not listed: ' + left + ' (see the test report in the logs)'})] : [])));
    }
    if (detail.patch) {
      const block = detail.patch_file.endsWith('.diff') ? diffBlock(detail.patch.text) : el('pre', {text: detail.patch.text});
      block.id = 'detail-patch';
      body.push(section(detail.patch_file === 'patch.diff' ? 'Patch' : 'Program (' + detail.patch_file + ')',
        [detail.patch.text ? block : el('p', {class: 'muted', text: 'empty: the system changed nothing'})]
          .concat(clippedNote(detail.patch, detail.patch_file, fileLink(detail, detail.patch_file)))));
    }
    if (detail.output) {
      body.push(section('Test output (' + detail.output_file + ')', [el('pre', {text: detail.output.text})]
        .concat(clippedNote(detail.output, detail.output_file, fileLink(detail, detail.output_file)))));
    }
    detail.transcripts.forEach((record) => body.push(transcript(detail, record)));
    if (detail.read.length) {
      body.push(section('Files read', [smallTable(['file', 'lines', 'tokens', 'seen as'],
        detail.read.map((f) => [f.path, f.lines || '—', number(f.tokens, 0), f.source || '—']), {id: 'detail-read'})]));
    }
    if (detail.logs.length) {
      body.push(section('Log files', [el('ul', {class: 'files'}, detail.logs.map((f) =>
        el('li', {}, [el('a', {href: f.href, text: f.name}), ' (' + number(f.size, 0) + ' bytes)'])))]));
    }
    const parts = body.slice(1);
    return parts.length > 1 ? [body[0], contents(parts)].concat(parts) : body;
  }

  // A detail as written (details.TaskDetail): samples and tests are tuples, the log folder's parts are under
  // `folder` (null when the task has none); here they get their names back.
  const NO_FOLDER = {patch_file: '', patch: null, output_file: '', output: null, logs: [], transcripts: []};
  const blocks = {index: -1, details: null};  // the last block parsed

  function detailAt(index) {
    const block = Math.floor(index / spec.detail_chunk);
    if (blocks.index !== block) {
      const node = document.getElementById('details-' + block);
      if (!node) return null;
      blocks.details = JSON.parse(node.textContent);
      blocks.index = block;
    }
    const data = blocks.details[index % spec.detail_chunk];
    return data && Object.assign({}, data, data.folder || NO_FOLDER, {
      samples: data.samples.map((s) => ({sample: s[0], attempt: s[1], outcome: s[2], reason: s[3], seconds: s[4],
        href: s[5]})),
      tests: data.tests.map((t) => ({test: t[0], status: t[1], criterion: t[2] || ''})),
    });
  }

  function openDetail(taskId) {
    const row = rows.find((r) => r.attrs[0] === taskId);
    const detail = row && spec.detail_chunk ? detailAt(row.index) : null;
    if (!dialog || !detail) return;
    current = row;
    dialog.dataset.task = detail.task_id;
    document.getElementById('detail-title').textContent = detail.task_id;
    document.getElementById('detail-outcome').replaceChildren(badge(detail.outcome));
    document.getElementById('detail-body').replaceChildren(...renderDetail(detail));
    const position = state.matched.indexOf(row);
    document.getElementById('detail-previous').disabled = position <= 0;
    document.getElementById('detail-next').disabled = position < 0 || position >= state.matched.length - 1;
    if (!dialog.open) dialog.showModal();
    dialog.scrollTop = 0;
  }

  function step(offset) {
    const position = state.matched.indexOf(current);
    const next = state.matched[position + offset];
    if (next) location.hash = hashWith({task: next.attrs[0]});
  }

  function hashParams() {
    const params = {};
    location.hash.replace(/^#/, '').split('&').forEach((part) => {
      const at = part.indexOf('=');
      if (at > 0) params[part.slice(0, at)] = decodeURIComponent(part.slice(at + 1));
    });
    return params;
  }

  function hashWith(changes) {
    const params = Object.assign(hashParams(), changes);
    return '#' + Object.entries(params).filter((p) => p[1]).map((p) => p[0] + '=' + encodeURIComponent(p[1])).join('&');
  }

  if (dialog) {
    const forget = () => {  // the address no longer names the task, so opening it again is a change
      if (hashParams().task) history.replaceState(null, '', hashWith({task: ''}));
    };
    const close = () => { dialog.close(); forget(); };
    document.getElementById('detail-close').addEventListener('click', close);
    document.getElementById('detail-previous').addEventListener('click', () => step(-1));
    document.getElementById('detail-next').addEventListener('click', () => step(1));
    dialog.addEventListener('close', forget);  // Esc
    dialog.addEventListener('click', (event) => { if (event.target === dialog) close(); });
  }
  if (spec.details) {  // a click anywhere on a task's row opens it, like its link
    tbody.addEventListener('click', (event) => {
      const tr = event.target.closest('tr[data-index]');
      if (tr && !event.target.closest('a') && !String(window.getSelection())) {
        location.hash = hashWith({task: rows[Number(tr.dataset.index)].attrs[0]});
      }
    });
    tbody.classList.add('opens');
  }
  if (dialog) {
    dialog.addEventListener('keydown', (event) => {
      if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
        event.preventDefault();
        step(event.key === 'ArrowLeft' ? -1 : 1);
      }
    });
  }
  document.querySelectorAll('#outcome-chart g.bar').forEach((bar) => {  // a bar shows only its outcome
    bar.addEventListener('click', () => {
      if (!facetBox) return;
      facetBox.value = bar.getAttribute('data-outcome');
      facetBox.dispatchEvent(new Event('change'));
      table.scrollIntoView({block: 'start'});
    });
  });
  window.addEventListener('hashchange', () => {
    const task = hashParams().task;
    if (task) openDetail(task);
  });

  // ----- start -------------------------------------------------------------------------------------------------

  setupHeaders();
  setupFacet();
  const params = hashParams();
  if (params.filter) { box.value = params.filter; state.query = params.filter; }
  if (params.show && facetBox) { facetBox.value = params.show; state.facet = facetBox.value; }
  recompute();
  if (params.task) openDetail(params.task);
})();
