// The `pynenc monitor` page: reads the monitor API (same origin, cookie auth) and draws it.
// Everything from the server is put in the DOM with textContent, never innerHTML. Status colours
// and the timeline figure come from the server (the figure builder the notebook widgets use); its
// hover texts are Plotly markup that the server already escaped.
'use strict';

(function () {
  const COLORS = {};  // status -> colour, from GET statuses
  const REFRESH_MS = 5000;
  const xsrf = document.querySelector('meta[name="xsrf-token"]').getAttribute('content');
  const $ = (id) => document.getElementById(id);
  const state = { key: null, cursor: null, eventsCursor: null, workflowsCursor: null, timer: null, busy: false };
  const PAYLOAD_SHOWN = 300;

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function fmtTime(epoch) {
    return epoch ? new Date(epoch * 1000).toLocaleTimeString() : '';
  }

  function badge(status) {
    const node = el('span', status, 'badge');
    node.style.background = COLORS[status] || '#627d98';
    return node;
  }

  async function api(path, options) {
    const init = Object.assign({ credentials: 'same-origin', headers: {} }, options || {});
    if (init.method && init.method !== 'GET') init.headers['X-XSRFToken'] = xsrf;
    const response = await fetch('pynenc/api/' + path, init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.message || response.statusText);
    return data;
  }

  function appPath(...parts) {
    return ['apps', state.key, ...parts].map(encodeURIComponent).join('/');
  }

  function showError(error) {
    const status = $('status');
    status.textContent = String(error.message || error);
    status.className = 'error';
  }

  async function loadApps() {
    const data = await api('apps');
    const select = $('app');
    const previous = state.key;
    select.replaceChildren();
    for (const app of data.apps) {
      const label = `${app.app_id} — ${app.backend}` + (app.folder ? ` (${app.folder})` : '') +
        (app.available ? '' : ' [gone]');
      const option = el('option', label);
      option.value = app.key;
      option.disabled = !app.available;
      select.appendChild(option);
    }
    $('empty').hidden = data.apps.length > 0;
    const keys = data.apps.filter((a) => a.available).map((a) => a.key);
    state.key = keys.includes(previous) ? previous : keys[0] || null;
    if (state.key) select.value = state.key;
  }

  function renderSummary(summary) {
    const app = summary.app;
    const totals = summary.runner_totals;
    $('app-info').textContent = `${app.app_id} on ${app.backend}` + (app.broker ? `, broker ${app.broker}` : '') +
      ` — ${summary.total} invocations, ${totals.alive} live runners, ${totals.busy}/${totals.slots} slots busy`;
    const counts = $('counts');
    counts.replaceChildren();
    for (const [status, n] of Object.entries(summary.counts)) {
      if (!n) continue;
      const box = el('span', null, 'count');
      box.append(badge(status), el('b', n));
      counts.appendChild(box);
    }
    if (!counts.children.length) counts.appendChild(el('span', 'no invocations yet', 'muted'));
  }

  function renderRunners(runners) {
    const body = $('runners').tBodies[0];
    body.replaceChildren();
    for (const r of runners.items) {
      const row = el('tr');
      row.append(el('td', r.label), el('td', r.name || ''), el('td', r.alive ? r.state : `${r.state} (silent)`),
        el('td', `${r.heartbeat_age_s.toFixed(1)} s ago`), el('td', `${r.busy} / ${r.slots}`));
      const cell = el('td');
      if (r.stoppable) {
        const button = el('button', 'stop');
        button.type = 'button';
        button.addEventListener('click', () => stopRunner(r.name, button));
        cell.appendChild(button);
      }
      row.appendChild(cell);
      body.appendChild(row);
    }
    if (!runners.items.length) {
      const row = el('tr');
      const cell = el('td', 'no runner is running', 'muted');
      cell.colSpan = 6;
      row.appendChild(cell);
      body.appendChild(row);
    }
  }

  async function stopRunner(name, button) {
    if (!window.confirm(`Stop runner ${name}?`)) return;
    button.disabled = true;
    try {
      const result = await api(appPath('runners', name, 'stop'), { method: 'POST' });
      button.textContent = result.state;
    } catch (error) {
      showError(error);
      button.disabled = false;
    }
  }

  function invocationRow(inv) {
    const row = el('tr', null, 'clickable');
    const args = Object.entries(inv.args).map(([k, v]) => `${k}=${v}`).join(', ');
    const status = el('td');
    status.appendChild(badge(inv.status));
    const argsCell = el('td', args, 'args');
    argsCell.title = args;
    row.append(el('td', fmtTime(inv.updated_at)), el('td', inv.task_id), status, argsCell,
      el('td', inv.invocation_id.slice(0, 12)));
    row.addEventListener('click', () => showDetail(inv.invocation_id).catch(showError));
    return row;
  }

  async function loadInvocations(append) {
    const status = $('filter-status').value;
    const query = new URLSearchParams({ limit: '50' });
    if (status) query.set('status', status);
    if (append && state.cursor) query.set('cursor', state.cursor);
    const page = await api(appPath('invocations') + '?' + query);
    const body = $('invocations').tBodies[0];
    if (!append) body.replaceChildren();
    for (const inv of page.items) body.appendChild(invocationRow(inv));
    state.cursor = page.next_cursor;
    $('more').hidden = !page.next_cursor;
  }

  function invocationLink(id, label) {
    const link = el('a', label || id.slice(0, 12), 'inv');
    link.title = id;
    link.addEventListener('click', () => showDetail(id).catch(showError));
    return link;
  }

  function createdCell(event) {
    const cell = el('td');
    if (!event.runs.length) {
      cell.appendChild(el('span', '—', 'muted'));
      return cell;
    }
    event.runs.forEach((run, index) => {
      if (index) cell.appendChild(el('br'));
      cell.appendChild(el('span', `${run.task_id.split('.').pop()} `));
      if (run.invocation_id) {
        cell.appendChild(invocationLink(run.invocation_id));
        cell.appendChild(document.createTextNode(' '));
        if (run.status) cell.appendChild(badge(run.status));
      } else {
        cell.appendChild(el('span', 'no invocation', 'muted'));
      }
    });
    return cell;
  }

  async function loadEvents(append) {
    const query = new URLSearchParams({ limit: '50', since: $('window').value });
    const code = $('events-code').value.trim();
    const matched = $('events-matched').value;
    if (code) query.set('code', code);
    if (matched) query.set('matched', matched);
    if (append && state.eventsCursor) query.set('cursor', state.eventsCursor);
    const page = await api(appPath('events') + '?' + query);
    const body = $('events-table').tBodies[0];
    if (!append) body.replaceChildren();
    for (const event of page.items) {
      const row = el('tr');
      const payload = event.payload.length > PAYLOAD_SHOWN ? event.payload.slice(0, PAYLOAD_SHOWN) + '…' : event.payload;
      const codeCell = el('td', event.code);
      codeCell.title = `event ${event.event_id}` + (event.emitted_by ? `, emitted by ${event.emitted_by}` : '');
      row.append(el('td', fmtTime(event.at)), codeCell, el('td', payload, 'payload'), createdCell(event));
      body.appendChild(row);
    }
    if (!body.children.length) {
      const row = el('tr');
      const cell = el('td', 'no event in this window', 'muted');
      cell.colSpan = 4;
      row.appendChild(cell);
      body.appendChild(row);
    }
    state.eventsCursor = page.next_cursor;
    $('events-more').hidden = !page.next_cursor;
  }

  function cell(node) {
    const td = el('td');
    td.appendChild(node);
    return td;
  }

  async function loadWorkflows(append) {
    const query = new URLSearchParams({ limit: '20' });
    if (append && state.workflowsCursor) query.set('cursor', state.workflowsCursor);
    const page = await api(appPath('workflows') + '?' + query);
    const body = $('workflows-table').tBodies[0];
    if (!append) body.replaceChildren();
    for (const run of page.items) {
      const row = el('tr', null, 'clickable');
      const type = el('td', run.workflow_type.split('.').pop());
      type.title = run.workflow_type + (run.parent_workflow_id ? ` (sub-workflow of ${run.parent_workflow_id})` : '');
      row.append(el('td', fmtTime(run.started_at || run.created_at)), type, cell(badge(run.status)),
        el('td', run.children), el('td', run.workflow_id.slice(0, 12)));
      row.addEventListener('click', () => showWorkflow(run.workflow_id).catch(showError));
      body.appendChild(row);
    }
    if (!body.children.length) {
      const row = el('tr');
      const td = el('td', 'no workflow run yet', 'muted');
      td.colSpan = 5;
      row.appendChild(td);
      body.appendChild(row);
    }
    state.workflowsCursor = page.next_cursor;
    $('workflows-more').hidden = !page.next_cursor;
  }

  async function showWorkflow(id) {
    const detail = await api(appPath('workflows', id) + '?limit=100');
    const run = detail.workflow;
    $('workflow-detail').hidden = false;
    $('workflow-id').textContent = run.workflow_id;
    const fields = $('workflow-fields');
    fields.replaceChildren();
    const shown = {
      type: run.workflow_type, status: run.status,
      arguments: Object.entries(run.args).map(([k, v]) => `${k}=${v}`).join(', '),
      started: fmtTime(run.started_at), ended: fmtTime(run.ended_at),
      children: Object.entries(run.children_by_status).map(([s, n]) => `${n} ${s}`).join(', ') || '0',
      'parent workflow': run.parent_workflow_id || '',
      'data keys': detail.data_keys.join(', ') + (detail.data_keys_truncated ? ', …' : ''),
      'sub-workflows': detail.subworkflows.map((w) => `${w.task_id} ${w.invocation_id.slice(0, 12)} ${w.status}`)
        .join('; ') + (detail.subworkflows_truncated ? '; …' : '')
    };
    for (const [name, value] of Object.entries(shown)) fields.append(el('dt', name), el('dd', value));
    const steps = $('workflow-steps').tBodies[0];
    steps.replaceChildren();
    for (const step of detail.steps) {
      const row = el('tr');
      const value = step.kind === 'task' ? (step.call || step.task_id || '') : (step.value || '');
      row.append(el('td', step.step), el('td', step.kind), el('td', value, 'payload'),
        step.invocation_id ? cell(invocationLink(step.invocation_id)) : el('td', ''),
        step.status ? cell(badge(step.status)) : el('td', ''));
      steps.appendChild(row);
    }
    const members = $('workflow-members').tBodies[0];
    members.replaceChildren();
    for (const m of detail.members) {
      members.appendChild(el('tr'));
      members.lastChild.append(el('td', m.task_id), cell(invocationLink(m.invocation_id)), cell(badge(m.status)));
    }
    $('workflow-detail').scrollIntoView({ behavior: 'smooth' });
  }

  async function loadTriggers() {
    const data = await api(appPath('triggers'));
    const body = $('triggers').tBodies[0];
    body.replaceChildren();
    for (const trigger of data.items) {
      const row = el('tr');
      row.append(el('td', trigger.task_id), el('td', trigger.summary), el('td', trigger.trigger_id.slice(0, 12)));
      body.appendChild(row);
    }
    if (!data.items.length) {
      const row = el('tr');
      const cell = el('td', 'no trigger defined', 'muted');
      cell.colSpan = 3;
      row.appendChild(cell);
      body.appendChild(row);
    }
  }

  function originText(origin) {
    const kinds = { event: 'event', status: 'a status of', cron: 'cron tick', composite: 'all of' };
    const code = origin.event_code ? ` ${origin.event_code}` : '';
    return `trigger ${origin.trigger_id.slice(0, 12)} on ${kinds[origin.source_kind] || origin.source_kind}${code} ` +
      `(${origin.source_id})`;
  }

  function drawTimeline(view) {
    const target = $('timeline');
    if (typeof Plotly === 'undefined') {
      target.textContent = 'plotly.js is not available (install the plotly package to draw the timeline)';
      return;
    }
    const figure = view.figure;
    Plotly.react(target, figure.data, figure.layout, { displaylogo: false, responsive: true });
    if (!target.dataset.bound) {
      target.dataset.bound = '1';
      target.on('plotly_click', (event) => {
        const id = event.points && event.points[0] && event.points[0].customdata;
        if (typeof id === 'string' && /^[0-9a-f]{32}$/.test(id)) showDetail(id).catch(showError);
      });
    }
  }

  async function showDetail(id) {
    const detail = await api(appPath('invocations', id));
    const inv = detail.invocation;
    $('detail').hidden = false;
    $('detail-id').textContent = inv.invocation_id;
    const fields = $('detail-fields');
    fields.replaceChildren();
    const shown = {
      task: inv.task_id, status: inv.status, arguments: Object.entries(inv.args).map(([k, v]) => `${k}=${v}`).join(', '),
      parent: inv.parent_id || '', workflow: detail.workflow ? detail.workflow.workflow_id : '', queue: detail.queue,
      owner: detail.owner_label || '', retries: inv.num_retries, recoveries: inv.recoveries,
      children: detail.children.length + (detail.children_next_cursor ? '+' : ''),
      'created by': detail.origin ? originText(detail.origin) : 'a call (no trigger)'
    };
    for (const [name, value] of Object.entries(shown)) fields.append(el('dt', name), el('dd', value));
    const outcome = detail.exception
      ? `${detail.exception.type}: ${detail.exception.message}\n\n${detail.exception.traceback}`
      : detail.result !== null ? `result: ${detail.result}` : '';
    $('detail-outcome').textContent = outcome;
    $('detail-outcome').hidden = !outcome;
    const body = $('detail-history').tBodies[0];
    body.replaceChildren();
    for (const entry of detail.history) {
      const row = el('tr');
      const status = el('td');
      status.appendChild(badge(entry.status));
      row.append(el('td', fmtTime(entry.at)), status, el('td', entry.owner_label || ''),
        el('td', entry.runner_label || ''), el('td', entry.reason || ''));
      body.appendChild(row);
    }
    $('detail').scrollIntoView({ behavior: 'smooth' });
  }

  function runnerText(runner) {
    if (!runner) return '';
    const top = `${runner.runner_class || '?'}(${runner.runner_id || '?'})`;
    return runner.worker_id ? `${top}.${runner.worker_class || '?'}(${runner.worker_id})` : top;
  }

  async function parseLogs() {
    if (!state.key) return;
    const answer = await api(appPath('logs'), {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: $('logs-text').value })
    });
    const found = answer.invocations.filter((inv) => inv.found).length;
    $('logs-summary').textContent = `${answer.lines.length} lines: ${answer.parsed} parsed, ${answer.unparsed} unparsed; ` +
      `${found} of ${answer.invocations.length} invocations found`;
    const known = new Map(answer.invocations.map((inv) => [inv.invocation_id, inv]));
    const body = $('logs-lines').tBodies[0];
    body.replaceChildren();
    for (const line of answer.lines.slice(0, 500)) {
      const row = el('tr', null, line.parsed ? 'log-line' : 'log-line unparsed');
      row.appendChild(el('td', String(line.number)));
      if (!line.parsed) {
        const raw = el('td', 'unparsed: ' + line.raw.slice(0, 300));
        raw.colSpan = 5;
        row.appendChild(raw);
        body.appendChild(row);
        continue;
      }
      const refs = el('td');
      for (const id of line.invocation_ids) {
        const inv = known.get(id);
        if (!inv) continue;
        if (inv.found) {
          refs.append(invocationLink(id, id.slice(0, 8)), badge(inv.invocation.status), ' ');
        } else {
          refs.append(el('span', id.slice(0, 8) + ' (not found) ', 'muted'));
        }
      }
      row.append(el('td', line.timestamp ? fmtTime(line.timestamp) : ''), el('td', line.level || ''),
        el('td', runnerText(line.runner)), refs, el('td', line.message.slice(0, 300)));
      body.appendChild(row);
    }
    const target = $('logs-timeline');
    if (typeof Plotly !== 'undefined') {
      Plotly.react(target, answer.figure.data, answer.figure.layout, { displaylogo: false, responsive: true });
    }
  }

  async function refresh() {
    if (state.busy) return;
    state.busy = true;
    try {
      await loadApps();
      if (!state.key) return;
      const since = $('window').value;
      const [summary, runners, timeline] = await Promise.all([
        api(appPath('summary')), api(appPath('runners')), api(appPath('timeline') + `?since=${since}&limit=2000&figure=1`)
      ]);
      renderSummary(summary);
      renderRunners(runners);
      drawTimeline(timeline);
      await loadInvocations(false);
      await Promise.all([loadEvents(false), loadWorkflows(false), loadTriggers()]);
      $('status').textContent = `updated ${new Date().toLocaleTimeString()}`;
      $('status').className = 'muted';
    } catch (error) {
      showError(error);
    } finally {
      state.busy = false;
    }
  }

  function schedule() {
    clearInterval(state.timer);
    state.timer = $('live').checked ? setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS) : null;
  }

  async function init() {
    try {
      for (const row of (await api('statuses')).statuses) COLORS[row.status] = row.colour;
    } catch (error) {
      showError(error);
    }
    const filter = $('filter-status');
    for (const status of Object.keys(COLORS)) {
      const option = el('option', status);
      option.value = status;
      filter.appendChild(option);
    }
    $('app').addEventListener('change', () => { state.key = $('app').value; refresh(); });
    $('window').addEventListener('change', refresh);
    $('filter-status').addEventListener('change', () => loadInvocations(false).catch(showError));
    $('more').addEventListener('click', () => loadInvocations(true).catch(showError));
    $('events-code').addEventListener('change', () => loadEvents(false).catch(showError));
    $('events-matched').addEventListener('change', () => loadEvents(false).catch(showError));
    $('events-more').addEventListener('click', () => loadEvents(true).catch(showError));
    $('workflows-more').addEventListener('click', () => loadWorkflows(true).catch(showError));
    $('logs-parse').addEventListener('click', () => parseLogs().catch(showError));
    $('live').addEventListener('change', schedule);
    refresh();
    schedule();
  }

  document.addEventListener('DOMContentLoaded', init);
})();
