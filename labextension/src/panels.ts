/**
 * Main-area panels opened from the sidebar: the timeline of an app, one invocation with its family
 * tree, the invocations of one task, the events of an app, one workflow run with its steps, and the
 * log explorer (logs.ts). Each is described by a small serializable `PanelSpec`, so
 * the layout restorer can reopen it after a reload.
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Poll } from '@lumino/polling';
import { Panel, Widget } from '@lumino/widgets';

import {
  AppJson,
  EventJson,
  EventsJson,
  FamilyTreeAnswerJson,
  InvocationDetailJson,
  InvocationOriginJson,
  InvocationSummaryJson,
  InvocationsJson,
  KillJson,
  RerunJson,
  TimelineAnswerJson,
  WorkflowDetailJson,
  WorkflowStepJson,
  appPath,
  query,
  requestAPI
} from './api';
import { badge, clear, el, isFinal, link, seconds, table, when } from './dom';
import { PlotHost } from './plot';

export type PanelSpec =
  | { kind: 'timeline'; app: AppJson; since: number }
  | { kind: 'invocation'; app: AppJson; invocationId: string }
  | { kind: 'task'; app: AppJson; taskId: string }
  | { kind: 'events'; app: AppJson }
  | { kind: 'workflow'; app: AppJson; workflowId: string }
  | { kind: 'logs'; app: AppJson };

export function specId(spec: PanelSpec): string {
  switch (spec.kind) {
    case 'timeline':
      return `timeline:${spec.app.key}`;
    case 'invocation':
      return `invocation:${spec.app.key}:${spec.invocationId}`;
    case 'task':
      return `task:${spec.app.key}:${spec.taskId}`;
    case 'events':
      return `events:${spec.app.key}`;
    case 'workflow':
      return `workflow:${spec.app.key}:${spec.workflowId}`;
    case 'logs':
      return `logs:${spec.app.key}`;
  }
}

export function specTitle(spec: PanelSpec): string {
  switch (spec.kind) {
    case 'timeline':
      return `Timeline · ${spec.app.app_id}`;
    case 'invocation':
      return `Invocation ${spec.invocationId.slice(0, 8)}`;
    case 'task':
      return `Task ${spec.taskId.split('.').pop()}`;
    case 'events':
      return `Events · ${spec.app.app_id}`;
    case 'workflow':
      return `Workflow ${spec.workflowId.slice(0, 8)}`;
    case 'logs':
      return `Log explorer · ${spec.app.app_id}`;
  }
}

/** "trigger 1a2b3c4d on event order.placed (5e6f…)": what made an invocation. */
export function originText(origin: InvocationOriginJson): string {
  const kinds: Record<string, string> = { event: 'event', status: 'a status of', cron: 'cron tick', composite: 'all of' };
  const code = origin.event_code ? ` ${origin.event_code}` : '';
  return `trigger ${origin.trigger_id.slice(0, 10)} on ${kinds[origin.source_kind] || origin.source_kind}${code} (${origin.source_id})`;
}

type Open = (spec: PanelSpec) => void;

/** Common frame: a status line, a body, and a Poll that refreshes while the panel is visible. */
abstract class PollingPanel extends Panel {
  protected readonly statusLine = el('div', 'pynenc-panel-status');
  protected readonly poll: Poll;

  constructor(
    readonly spec: PanelSpec,
    intervalMs: number
  ) {
    super();
    this.addClass('pynenc-panel');
    this.id = `pynenc-${specId(spec)}`.replace(/[^A-Za-z0-9_-]/g, '-');
    this.title.label = specTitle(spec);
    this.title.closable = true;
    this.addWidget(new Widget({ node: this.statusLine }));
    this.poll = new Poll({
      auto: false,
      factory: () => this.tick(),
      frequency: { interval: intervalMs, backoff: true, max: 30000 },
      name: `pynenc-nb:${this.spec.kind}`,
      standby: () => !this.isVisible || 'when-hidden'
    });
  }

  /** A panel added as the current tab is attached visible and gets no after-show: fetch then too. */
  protected onAfterAttach(): void {
    this.wake();
  }

  protected onAfterShow(): void {
    this.wake();
  }

  private wake(): void {
    if (this.isVisible) {
      void this.poll.refresh(); // starts a poll not yet started, or stopped on a final view
    }
  }

  dispose(): void {
    this.poll.dispose();
    super.dispose();
  }

  private async tick(): Promise<void> {
    if (!this.isVisible) {
      return;
    }
    try {
      const done = await this.load();
      this.statusLine.textContent = `${done ? 'final' : 'live'} · updated ${new Date().toLocaleTimeString()}`;
      this.statusLine.classList.remove('pynenc-error');
      if (done) {
        void this.poll.stop();
      }
    } catch (error) {
      this.statusLine.textContent = `error: ${(error as Error).message}`;
      this.statusLine.classList.add('pynenc-error');
      throw error;
    }
  }

  /** Fetch and draw; true when nothing shown can change any more (polling stops). */
  protected abstract load(): Promise<boolean>;
}

export class TimelinePanel extends PollingPanel {
  private readonly plot: PlotHost;
  private readonly list = el('div', 'pynenc-timeline-list');
  private lastKey = '';

  constructor(
    readonly spec: PanelSpec & { kind: 'timeline' },
    rendermime: IRenderMimeRegistry | null,
    private readonly open: Open
  ) {
    super(spec, 2000);
    this.addClass('pynenc-timeline-panel');
    this.plot = new PlotHost(rendermime);
    this.addWidget(this.plot);
    this.addWidget(new Widget({ node: this.list }));
  }

  protected async load(): Promise<boolean> {
    const since = Date.now() / 1000 - this.spec.since;
    const view = await requestAPI<TimelineAnswerJson>(appPath(this.spec.app.key, 'timeline') + query({ since, figure: 1, limit: 2000 }));
    const key = JSON.stringify(view.figure && view.figure.data ? view.figure.data : []);
    if (key !== this.lastKey) {
      this.lastKey = key;
      await this.plot.draw(view.figure || { data: [], layout: {} });
      this.drawList(view);
    }
    return false; // new invocations may appear at any time: a timeline stays live while shown
  }

  private drawList(view: TimelineAnswerJson): void {
    clear(this.list);
    const invocations = view.invocations || [];
    this.list.appendChild(el('h3', undefined, `${invocations.length} invocations in the window`));
    this.list.appendChild(
      table(
        ['task', 'invocation', 'status', 'total'],
        invocations.slice(0, 200).map(inv => [
          link(inv.task_id, () => this.open({ kind: 'task', app: this.spec.app, taskId: inv.task_id })),
          link(String(inv.invocation_id).slice(0, 10), () =>
            this.open({ kind: 'invocation', app: this.spec.app, invocationId: inv.invocation_id })
          ),
          badge(inv.status),
          seconds(inv.total_s)
        ])
      )
    );
  }
}

export class InvocationPanel extends PollingPanel {
  private readonly detail = el('div', 'pynenc-detail');
  private readonly tree: PlotHost;

  constructor(
    readonly spec: PanelSpec & { kind: 'invocation' },
    rendermime: IRenderMimeRegistry | null,
    private readonly open: Open
  ) {
    super(spec, 1500);
    this.addClass('pynenc-invocation-panel');
    this.addWidget(new Widget({ node: this.detail }));
    this.tree = new PlotHost(rendermime);
    this.addWidget(this.tree);
  }

  protected async load(): Promise<boolean> {
    const base = appPath(this.spec.app.key, 'invocations', this.spec.invocationId);
    const [detail, tree] = await Promise.all([
      requestAPI<InvocationDetailJson>(base),
      requestAPI<FamilyTreeAnswerJson>(`${base}/tree` + query({ depth: 3, figure: 1 }))
    ]);
    this.drawDetail(detail);
    await this.tree.draw(tree.figure || { data: [], layout: {} });
    const nodes = tree.nodes || [];
    return !!detail.invocation?.final && nodes.every(n => isFinal(n.status));
  }

  private drawDetail(detail: InvocationDetailJson): void {
    clear(this.detail);
    const inv = detail.invocation;
    const parentId = inv.parent_id;
    const head = el('h2');
    head.appendChild(el('span', undefined, `${inv.task_id} `));
    head.appendChild(badge(inv.status || 'UNKNOWN'));
    if (inv.final) {
      const again = el('button', 'jp-Button pynenc-button pynenc-rerun', 'Run again');
      again.title = 'register the same call again (same task, code version and arguments)';
      again.addEventListener('click', () => void this.rerun(inv.invocation_id, again));
      head.appendChild(again);
    } else {
      const kill = el('button', 'jp-Button pynenc-button pynenc-kill', 'Kill');
      kill.title = 'end it KILLED now; a runner executing it interrupts it within a heartbeat';
      kill.addEventListener('click', () => void this.kill(inv.invocation_id, kill));
      head.appendChild(kill);
    }
    this.detail.appendChild(head);
    const args: Record<string, string> = inv.args || {};
    const history = detail.history || [];
    // a final invocation has no owner any more: name the runner that held it last
    const ranOn = [...history].reverse().find(h => h.owner_label)?.owner_label;
    this.detail.appendChild(
      table(
        ['field', 'value'],
        [
          ['invocation', inv.invocation_id],
          ['arguments', Object.entries(args).map(([k, v]) => `${k}=${v}`).join(', ') || '–'],
          ['runner', detail.owner_label || ranOn || '–'],
          ['retries', inv.num_retries],
          ['created', when(inv.created_at)],
          ['parent', parentId ? link(parentId.slice(0, 10), () => this.openInvocation(parentId)) : '–'],
          ['workflow', detail.workflow ? `${detail.workflow.workflow_type} (${String(detail.workflow.workflow_id).slice(0, 10)})` : '–'],
          ['created by', detail.origin ? originText(detail.origin) : 'a call (no trigger)']
        ],
        'pynenc-fields'
      )
    );
    if (detail.result !== null && detail.result !== undefined) {
      this.detail.appendChild(el('h3', undefined, 'Result'));
      this.detail.appendChild(el('pre', 'pynenc-pre', detail.result));
    }
    if (detail.exception) {
      this.detail.appendChild(el('h3', undefined, `${detail.exception.type}: ${detail.exception.message}`));
      this.detail.appendChild(el('pre', 'pynenc-pre pynenc-traceback', detail.exception.traceback));
    }
    this.detail.appendChild(el('h3', undefined, 'History'));
    this.detail.appendChild(
      table(
        ['at', 'status', 'by', 'reason'],
        history.map(h => [when(h.at), badge(h.status), h.runner_label || '–', h.reason || ''])
      )
    );
    const children = detail.children || [];
    if (children.length) {
      this.detail.appendChild(el('h3', undefined, `Children (${children.length}${detail.children_next_cursor ? '+' : ''})`));
      this.detail.appendChild(
        table(
          ['task', 'invocation', 'status'],
          children.map(c => [c.task_id, link(String(c.invocation_id).slice(0, 10), () => this.openInvocation(c.invocation_id)), badge(c.status)])
        )
      );
    }
  }

  private async rerun(invocationId: string, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      const base = appPath(this.spec.app.key, 'invocations', invocationId, 'rerun');
      const answer = await requestAPI<RerunJson>(base, { method: 'POST' });
      this.openInvocation(answer.invocation_id);
    } catch (error) {
      this.statusLine.textContent = `cannot run it again: ${(error as Error).message}`;
      this.statusLine.classList.add('pynenc-error');
    } finally {
      button.disabled = false;
    }
  }

  private async kill(invocationId: string, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      const answer = await requestAPI<KillJson>(appPath(this.spec.app.key, 'invocations', invocationId, 'kill'), { method: 'POST' });
      this.statusLine.textContent = `kill asked: ${answer.status}`;
      void this.poll.refresh();
    } catch (error) {
      this.statusLine.textContent = `cannot kill it: ${(error as Error).message}`;
      this.statusLine.classList.add('pynenc-error');
      button.disabled = false;
    }
  }

  private openInvocation(invocationId: string): void {
    this.open({ kind: 'invocation', app: this.spec.app, invocationId });
  }
}

export class TaskPanel extends PollingPanel {
  private readonly body = el('div', 'pynenc-task');
  private cursor: string | null = null;
  private rows: InvocationSummaryJson[] = [];

  constructor(
    readonly spec: PanelSpec & { kind: 'task' },
    private readonly open: Open
  ) {
    super(spec, 3000);
    this.addClass('pynenc-task-panel');
    this.addWidget(new Widget({ node: this.body }));
  }

  protected async load(): Promise<boolean> {
    const page = await this.page(null);
    this.rows = page.items;
    this.cursor = page.next;
    this.draw();
    return false;
  }

  private async page(cursor: string | null): Promise<{ items: InvocationSummaryJson[]; next: string | null }> {
    const path = appPath(this.spec.app.key, 'invocations') + query({ task: this.spec.taskId, limit: 50, cursor });
    const data = await requestAPI<InvocationsJson>(path);
    return { items: data.items || [], next: data.next_cursor || null };
  }

  private draw(): void {
    clear(this.body);
    this.body.appendChild(el('h2', undefined, this.spec.taskId));
    this.body.appendChild(
      table(
        ['invocation', 'status', 'arguments', 'updated'],
        this.rows.map(r => [
          link(String(r.invocation_id).slice(0, 10), () =>
            this.open({ kind: 'invocation', app: this.spec.app, invocationId: r.invocation_id })
          ),
          badge(r.status),
          Object.entries(r.args || {}).map(([k, v]) => `${k}=${v}`).join(', '),
          when(r.updated_at)
        ])
      )
    );
    if (this.cursor) {
      const more = el('button', 'jp-Button jp-mod-styled pynenc-button', 'More');
      more.addEventListener('click', async () => {
        const page = await this.page(this.cursor);
        this.rows = this.rows.concat(page.items);
        this.cursor = page.next;
        this.draw();
      });
      this.body.appendChild(more);
    }
  }
}


/** The events of an app, newest first, filtered by code and by whether a trigger fired on them. */
export class EventsPanel extends PollingPanel {
  private readonly filters = el('div', 'pynenc-events-filters');
  private readonly code = el('input', 'pynenc-events-code');
  private readonly matched = el('select', 'pynenc-events-matched');
  private readonly body = el('div', 'pynenc-events-body');
  private cursor: string | null = null;
  private rows: EventJson[] = [];

  constructor(
    readonly spec: PanelSpec & { kind: 'events' },
    private readonly open: Open
  ) {
    super(spec, 3000);
    this.addClass('pynenc-events-panel');
    this.code.placeholder = 'event code';
    this.code.setAttribute('aria-label', 'event code');
    [
      ['', 'any event'],
      ['true', 'a trigger fired'],
      ['false', 'no trigger fired']
    ].forEach(([value, label]) => {
      const option = el('option', undefined, label);
      option.value = value;
      this.matched.appendChild(option);
    });
    this.matched.setAttribute('aria-label', 'matched a trigger');
    this.code.addEventListener('change', () => void this.poll.refresh());
    this.matched.addEventListener('change', () => void this.poll.refresh());
    this.filters.append(this.code, this.matched);
    this.addWidget(new Widget({ node: this.filters }));
    this.addWidget(new Widget({ node: this.body }));
  }

  protected async load(): Promise<boolean> {
    const page = await this.page(null);
    this.rows = page.items;
    this.cursor = page.next;
    this.draw();
    return false; // new events may come at any time
  }

  private async page(cursor: string | null): Promise<{ items: EventJson[]; next: string | null }> {
    const path =
      appPath(this.spec.app.key, 'events') +
      query({ code: this.code.value.trim(), matched: this.matched.value, limit: 50, cursor });
    const data = await requestAPI<EventsJson>(path);
    return { items: data.items || [], next: data.next_cursor || null };
  }

  private draw(): void {
    clear(this.body);
    this.body.appendChild(el('h2', undefined, `Events of ${this.spec.app.app_id}`));
    this.body.appendChild(
      table(
        ['at', 'code', 'payload', 'created invocations'],
        this.rows.map(event => [when(event.at), event.code, el('code', 'pynenc-payload', cut(event.payload, 300)), this.created(event)])
      )
    );
    if (!this.rows.length) {
      this.body.appendChild(el('p', 'pynenc-note', 'No event matches.'));
    }
    if (this.cursor) {
      const more = el('button', 'jp-Button jp-mod-styled pynenc-button', 'More');
      more.addEventListener('click', async () => {
        const page = await this.page(this.cursor);
        this.rows = this.rows.concat(page.items);
        this.cursor = page.next;
        this.draw();
      });
      this.body.appendChild(more);
    }
  }

  private created(event: EventJson): Node {
    const cell = el('div');
    if (!event.runs.length) {
      cell.appendChild(el('span', 'pynenc-note', 'no trigger fired'));
    }
    event.runs.forEach(run => {
      const line = el('div');
      line.appendChild(document.createTextNode(`${run.task_id.split('.').pop()} `));
      const id = run.invocation_id;
      if (id) {
        line.appendChild(link(id.slice(0, 10), () => this.open({ kind: 'invocation', app: this.spec.app, invocationId: id })));
        line.appendChild(document.createTextNode(' '));
        if (run.status) {
          line.appendChild(badge(run.status));
        }
      } else {
        line.appendChild(el('span', 'pynenc-note', 'no invocation'));
      }
      cell.appendChild(line);
    });
    return cell;
  }
}

/** One workflow run: status, its deterministic steps (child calls with their status), data keys,
 * members and sub-workflows; a child's invocation id opens its invocation panel. */
export class WorkflowPanel extends PollingPanel {
  private readonly body = el('div', 'pynenc-workflow');

  constructor(
    readonly spec: PanelSpec & { kind: 'workflow' },
    private readonly open: Open
  ) {
    super(spec, 2000);
    this.addClass('pynenc-workflow-panel');
    this.addWidget(new Widget({ node: this.body }));
  }

  protected async load(): Promise<boolean> {
    const detail = await requestAPI<WorkflowDetailJson>(
      appPath(this.spec.app.key, 'workflows', this.spec.workflowId) + query({ limit: 100 })
    );
    this.draw(detail);
    const members = detail.members || [];
    return !!detail.workflow?.final && members.every(m => m.final);
  }

  private draw(detail: WorkflowDetailJson): void {
    clear(this.body);
    const run = detail.workflow;
    const head = el('h2');
    head.appendChild(el('span', undefined, `${run.workflow_type} `));
    head.appendChild(badge(run.status));
    this.body.appendChild(head);
    const parent = run.parent_workflow_id;
    const children = Object.entries(run.children_by_status || {})
      .map(([status, n]) => `${n} ${status}`)
      .join(', ');
    this.body.appendChild(
      table(
        ['field', 'value'],
        [
          ['workflow', this.invocationLink(run.workflow_id, run.workflow_id)],
          ['arguments', Object.entries(run.args || {}).map(([k, v]) => `${k}=${v}`).join(', ') || '–'],
          ['started', when(run.started_at)],
          ['ended', when(run.ended_at)],
          ['duration', seconds(run.duration_s)],
          ['children', children ? `${run.children} (${children})` : String(run.children)],
          ['parent workflow', parent ? link(parent.slice(0, 10), () => this.openWorkflow(parent)) : '–']
        ],
        'pynenc-fields'
      )
    );

    const steps = detail.steps || [];
    this.body.appendChild(el('h3', undefined, `Steps (${steps.length}${detail.steps_truncated ? '+' : ''})`));
    if (steps.length) {
      this.body.appendChild(
        table(
          ['step', 'kind', 'value or call', 'child', 'status'],
          steps.map(step => [step.step, step.kind, this.stepValue(step), this.stepChild(step), step.status ? badge(step.status) : '–']),
          'pynenc-workflow-steps'
        )
      );
    } else {
      this.body.appendChild(el('p', 'pynenc-note', 'No deterministic step recorded yet.'));
    }

    const keys = detail.data_keys || [];
    this.body.appendChild(el('h3', undefined, `Data keys (${keys.length}${detail.data_keys_truncated ? '+' : ''})`));
    if (keys.length) {
      const list = el('ul', 'pynenc-workflow-keys');
      keys.forEach(key => list.appendChild(el('li', undefined, key)));
      this.body.appendChild(list);
    } else {
      this.body.appendChild(el('p', 'pynenc-note', 'None.'));
    }

    const members = detail.members || [];
    this.body.appendChild(el('h3', undefined, `Members (${members.length}${detail.members_next_cursor ? '+' : ''})`));
    this.body.appendChild(
      table(
        ['task', 'invocation', 'status', 'updated'],
        members.map(m => [m.task_id, this.invocationLink(m.invocation_id), badge(m.status), when(m.updated_at)]),
        'pynenc-workflow-members'
      )
    );

    const subs = detail.subworkflows || [];
    if (subs.length) {
      this.body.appendChild(el('h3', undefined, `Sub-workflows (${subs.length}${detail.subworkflows_truncated ? '+' : ''})`));
      this.body.appendChild(
        table(
          ['workflow', 'id', 'status'],
          subs.map(w => [
            w.task_id,
            link(String(w.invocation_id).slice(0, 10), () => this.openWorkflow(w.invocation_id), 'its steps'),
            badge(w.status)
          ]),
          'pynenc-workflow-subs'
        )
      );
    }
  }

  private stepValue(step: WorkflowStepJson): Node | string {
    if (step.kind === 'task') {
      return el('code', 'pynenc-payload', cut(step.call || step.task_id || '', 300));
    }
    return el('code', 'pynenc-payload', cut(step.value ?? '', 300));
  }

  private stepChild(step: WorkflowStepJson): Node | string {
    const id = step.invocation_id;
    if (!id) {
      return '–';
    }
    const cell = el('span');
    cell.appendChild(this.invocationLink(id));
    if (step.attempt !== null && step.attempt !== undefined && step.attempt > 0) {
      cell.appendChild(document.createTextNode(` (attempt ${step.attempt})`));
    }
    return cell;
  }

  private invocationLink(invocationId: string, text?: string): HTMLAnchorElement {
    return link(text ?? invocationId.slice(0, 10), () =>
      this.open({ kind: 'invocation', app: this.spec.app, invocationId })
    );
  }

  private openWorkflow(workflowId: string): void {
    this.open({ kind: 'workflow', app: this.spec.app, workflowId });
  }
}

function cut(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}
