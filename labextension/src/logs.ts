/**
 * The "Log explorer" panel: paste pynenc or pynenc_nb log lines, Parse, and see each line with its
 * runner context and the invocations it mentions (links to the invocation panel; unparsed lines
 * marked), then the mini-timeline of those invocations with the runners and workers the lines
 * name highlighted. The server parses and resolves (POST apps/<key>/logs); nothing is parsed here.
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';

import { AppJson, LogInvocationJson, LogLineJson, LogsAnswerJson, appPath, requestAPI } from './api';
import { badge, clear, el, link } from './dom';
import { PlotHost } from './plot';

const LINES_SHOWN = 500;
const MESSAGE_CHARS = 300;

export class LogsPanel extends Panel {
  private readonly status = el('div', 'pynenc-panel-status');
  private readonly area = el('textarea', 'pynenc-logs-input');
  private readonly parseButton = el('button', 'jp-Button jp-mod-styled jp-mod-accept pynenc-button pynenc-logs-parse', 'Parse');
  private readonly result = el('div', 'pynenc-logs-result');
  private readonly plot: PlotHost;

  constructor(
    readonly app: AppJson,
    rendermime: IRenderMimeRegistry | null,
    private readonly openInvocation: (invocationId: string) => void,
    id: string,
    label: string
  ) {
    super();
    this.addClass('pynenc-panel');
    this.addClass('pynenc-logs-panel');
    this.id = id;
    this.title.label = label;
    this.title.closable = true;
    const form = el('div', 'pynenc-logs-form');
    form.appendChild(el('h2', undefined, `Log explorer · ${app.app_id}`));
    this.area.placeholder = 'Paste pynenc or pynenc_nb log lines (text or JSON), then Parse';
    this.area.rows = 8;
    this.area.spellcheck = false;
    this.area.setAttribute('aria-label', 'log lines');
    form.appendChild(this.area);
    this.parseButton.addEventListener('click', () => void this.parse());
    form.appendChild(this.parseButton);
    this.addWidget(new Widget({ node: form }));
    this.addWidget(new Widget({ node: this.status }));
    this.addWidget(new Widget({ node: this.result }));
    this.plot = new PlotHost(rendermime);
    this.plot.addClass('pynenc-logs-timeline');
    this.addWidget(this.plot);
  }

  async parse(): Promise<void> {
    this.parseButton.disabled = true;
    this.status.textContent = 'parsing…';
    this.status.classList.remove('pynenc-error');
    try {
      const answer = await requestAPI<LogsAnswerJson>(appPath(this.app.key, 'logs'), {
        method: 'POST',
        body: JSON.stringify({ text: this.area.value })
      });
      this.draw(answer);
      await this.plot.draw(answer.figure);
      this.status.textContent = `parsed at ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      this.status.textContent = `cannot parse: ${(error as Error).message}`;
      this.status.classList.add('pynenc-error');
    } finally {
      this.parseButton.disabled = false;
    }
  }

  private draw(answer: LogsAnswerJson): void {
    clear(this.result);
    const found = answer.invocations.filter(i => i.found).length;
    this.result.appendChild(
      el(
        'p',
        'pynenc-logs-summary',
        `${answer.lines.length} lines: ${answer.parsed} parsed, ${answer.unparsed} unparsed · ` +
          `${found} of ${answer.invocations.length} invocations found` +
          (answer.truncated ? ' (the timeline shows the first 2000)' : '')
      )
    );
    const byId = new Map<string, LogInvocationJson>(answer.invocations.map(i => [i.invocation_id, i]));
    const t = el('table', 'pynenc-table pynenc-logs-lines');
    const head = el('tr');
    ['#', 'time', 'level', 'runner', 'invocations', 'message'].forEach(h => head.appendChild(el('th', undefined, h)));
    t.appendChild(head);
    answer.lines.slice(0, LINES_SHOWN).forEach(line => t.appendChild(this.row(line, byId)));
    this.result.appendChild(t);
    if (answer.lines.length > LINES_SHOWN) {
      this.result.appendChild(el('p', 'pynenc-note', `${answer.lines.length - LINES_SHOWN} more lines not listed`));
    }
    const runners = answer.runners;
    if (runners.length) {
      this.result.appendChild(el('h3', undefined, 'Runners and workers'));
      const list = el('ul', 'pynenc-list pynenc-logs-runners');
      runners.forEach(r => {
        const item = el('li', r.runner_id ? 'pynenc-logs-found' : 'pynenc-logs-missing');
        item.textContent = `${r.role} ${r.written}: ${r.label || 'not known to this app'} · ${r.lines} line${r.lines === 1 ? '' : 's'}`;
        list.appendChild(item);
      });
      this.result.appendChild(list);
    }
  }

  private row(line: LogLineJson, byId: Map<string, LogInvocationJson>): HTMLTableRowElement {
    const tr = el('tr', line.parsed ? 'pynenc-logs-line' : 'pynenc-logs-line pynenc-logs-unparsed');
    tr.dataset.line = String(line.number);
    const cell = (content: string | Node): void => {
      const td = el('td');
      if (content instanceof Node) {
        td.appendChild(content);
      } else {
        td.textContent = content;
      }
      tr.appendChild(td);
    };
    cell(String(line.number));
    if (!line.parsed) {
      const td = el('td', 'pynenc-logs-raw');
      td.colSpan = 5;
      td.appendChild(el('span', 'pynenc-logs-flag', 'unparsed'));
      td.appendChild(document.createTextNode(` ${cut(line.raw)}`));
      tr.appendChild(td);
      return tr;
    }
    cell(line.timestamp ? new Date(line.timestamp * 1000).toLocaleTimeString() : '');
    cell(line.level || '');
    const r = line.runner;
    cell(r ? [`${r.runner_class || '?'}(${r.runner_id || '?'})`, r.worker_id ? `${r.worker_class || '?'}(${r.worker_id})` : ''].filter(Boolean).join('.') : '');
    const refs = el('span', 'pynenc-logs-refs');
    line.invocation_ids.forEach(id => {
      const inv = byId.get(id);
      if (!inv) {
        return; // a bare id that named nothing this app knows
      }
      const ref = el('span', 'pynenc-logs-ref');
      if (inv.found && inv.invocation) {
        ref.appendChild(link(id.slice(0, 8), () => this.openInvocation(id), `${inv.invocation.task_id}: details and family tree`));
        ref.appendChild(badge(inv.invocation.status));
      } else {
        ref.appendChild(el('span', 'pynenc-logs-missing', `${id.slice(0, 8)} (not found)`));
      }
      refs.appendChild(ref);
    });
    cell(refs);
    cell(cut(line.message));
    return tr;
  }
}

function cut(text: string): string {
  return text.length <= MESSAGE_CHARS ? text : `${text.slice(0, MESSAGE_CHARS)}…`;
}
