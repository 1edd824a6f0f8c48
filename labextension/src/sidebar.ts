/**
 * The "Pynenc" sidebar: known apps, and for the selected one its runners, counts by status, running
 * invocations, recent failures, recent events (with the invocations their triggers created) and recent
 * workflow runs (each opens its steps); its header opens the timeline and the log explorer. It
 * polls the server with backoff (Lumino Poll) and stands by while hidden, so a closed sidebar costs
 * the server nothing.
 */
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';
import { LabIcon } from '@jupyterlab/ui-components';

import {
  AppJson,
  AppSummaryJson,
  AppsJson,
  EventJson,
  EventsJson,
  InvocationSummaryJson,
  RunnerRowJson,
  WorkflowRunJson,
  WorkflowsJson,
  appPath,
  query,
  requestAPI
} from './api';
import { badge, clear, dotted, el, link, seconds, when } from './dom';

export const SIDEBAR_ID = 'pynenc-sidebar';
const POLL_MS = 2000;
const EVENTS_SHOWN = 10;
const WORKFLOWS_SHOWN = 10;
const MAX_POLL_MS = 30000;

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16">
<g class="jp-icon3" fill="#616161"><rect x="3" y="4" width="12" height="3" rx="1"/><rect x="7" y="10.5" width="14" height="3" rx="1"/>
<rect x="5" y="17" width="9" height="3" rx="1"/></g></svg>`;

export const pynencIcon = new LabIcon({ name: 'pynenc-nb:icon', svgstr: ICON_SVG });

/** What the sidebar asks the plugin to open in the main area. */
export interface Opener {
  timeline(app: AppJson): void;
  invocation(app: AppJson, invocationId: string): void;
  task(app: AppJson, taskId: string): void;
  events(app: AppJson): void;
  workflow(app: AppJson, workflowId: string): void;
  logs(app: AppJson): void;
}

/** The kernel of the notebook in focus, if any: the sidebar opens on the app that kernel used. */
export type CurrentKernel = () => string | null;

export class PynencSidebar extends Widget {
  private apps: AppJson[] = [];
  private selected: string | null = null;
  private chosen = false; // the user picked an app: keep it, whatever notebook is in focus
  private readonly appSelect = el('select', 'pynenc-app-select');
  private readonly body = el('div', 'pynenc-sidebar-body');
  private readonly status = el('div', 'pynenc-sidebar-status');
  readonly poll: Poll;

  constructor(
    private readonly opener: Opener,
    private readonly currentKernel: CurrentKernel = () => null
  ) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('pynenc-sidebar');
    this.title.icon = pynencIcon;
    this.title.caption = 'Pynenc: runners and invocations';
    const header = el('div', 'pynenc-sidebar-header');
    header.appendChild(el('h2', undefined, 'Pynenc'));
    this.appSelect.setAttribute('aria-label', 'pynenc app');
    this.appSelect.addEventListener('change', () => {
      this.selected = this.appSelect.value || null;
      this.chosen = true;
      void this.poll.refresh();
    });
    const timeline = el('button', 'jp-Button jp-mod-styled jp-mod-accept pynenc-button', 'Timeline');
    timeline.addEventListener('click', () => {
      const app = this.currentApp();
      if (app) {
        this.opener.timeline(app);
      }
    });
    header.appendChild(timeline);
    const logs = el('button', 'jp-Button jp-mod-styled pynenc-button pynenc-open-logs', 'Log explorer');
    logs.title = 'paste log lines: their runners, invocations and a mini-timeline';
    logs.addEventListener('click', () => {
      const app = this.currentApp();
      if (app) {
        this.opener.logs(app);
      }
    });
    header.appendChild(logs);
    header.appendChild(this.appSelect);
    this.node.appendChild(header);
    this.node.appendChild(this.status);
    this.node.appendChild(this.body);
    this.poll = new Poll({
      auto: false,
      factory: () => this.refresh(),
      frequency: { interval: POLL_MS, backoff: true, max: MAX_POLL_MS },
      name: 'pynenc-nb:sidebar',
      standby: () => !this.isVisible || 'when-hidden'
    });
  }

  currentApp(): AppJson | null {
    return this.apps.find(a => a.key === this.selected) || null;
  }

  /** Restored open on reload, the sidebar is attached visible and gets no after-show: fetch then too. */
  protected onAfterAttach(): void {
    this.wake();
  }

  protected onAfterShow(): void {
    this.wake();
  }

  private wake(): void {
    if (this.isVisible) {
      void this.poll.refresh();
    }
  }

  dispose(): void {
    this.poll.dispose();
    super.dispose();
  }

  /** One poll tick: a rejected promise makes the Poll back off. */
  async refresh(): Promise<void> {
    if (!this.isVisible) {
      return;
    }
    try {
      const listed = await requestAPI<AppsJson>('apps');
      this.setApps(listed.apps || []);
      const app = this.currentApp();
      if (!app) {
        clear(this.body);
        this.body.appendChild(
          el('p', 'pynenc-note', 'No pynenc_nb app found yet. Create one (Pynenc() with the SQLite default or Redis) and it appears here.')
        );
        this.status.textContent = '';
        return;
      }
      const [summary, events, workflows] = await Promise.all([
        requestAPI<AppSummaryJson>(appPath(app.key, 'summary')),
        requestAPI<EventsJson>(appPath(app.key, 'events') + query({ limit: EVENTS_SHOWN })),
        requestAPI<WorkflowsJson>(appPath(app.key, 'workflows') + query({ limit: WORKFLOWS_SHOWN }))
      ]);
      this.render(app, summary);
      this.eventList(app, events);
      this.workflowList(app, workflows);
      this.status.textContent = `updated ${new Date().toLocaleTimeString()}`;
      this.status.classList.remove('pynenc-error');
    } catch (error) {
      this.status.textContent = `cannot reach the pynenc server extension: ${(error as Error).message}`;
      this.status.classList.add('pynenc-error');
      throw error;
    }
  }

  private setApps(apps: AppJson[]): void {
    const keys = apps.map(a => a.key).join('|');
    if (keys !== this.apps.map(a => a.key).join('|')) {
      clear(this.appSelect);
      apps.forEach(app => {
        const option = el('option', undefined, `${app.app_id} · ${app.backend}`);
        option.value = app.key;
        this.appSelect.appendChild(option);
      });
    }
    this.apps = apps;
    if (!apps.some(a => a.key === this.selected)) {
      this.chosen = false;
    }
    if (!this.chosen) {
      this.selected = this.defaultApp(apps);
    }
    if (this.selected) {
      this.appSelect.value = this.selected;
    }
  }

  /** The app the kernel of the notebook in focus used, else the most recently active one (listed first). */
  private defaultApp(apps: AppJson[]): string | null {
    const kernel = this.currentKernel();
    const ofKernel = kernel ? apps.find(a => (a.kernels || []).includes(kernel)) : undefined;
    return ofKernel ? ofKernel.key : apps.length ? apps[0].key : null;
  }

  /** The notebook in focus changed: follow its app unless the user picked one. */
  focusChanged(): void {
    if (!this.chosen) {
      void this.poll.refresh();
    }
  }

  private render(app: AppJson, summary: AppSummaryJson): void {
    clear(this.body);
    const counts: Record<string, number> = summary.counts || {};
    const nonZero = Object.entries(counts).filter(([, n]) => n > 0);
    this.body.appendChild(el('h3', undefined, 'Invocations by status'));
    if (nonZero.length === 0) {
      this.body.appendChild(el('p', 'pynenc-note', 'No invocations yet.'));
    } else {
      const list = el('div', 'pynenc-counts');
      nonZero.forEach(([status, n]) => {
        const item = el('span', 'pynenc-count');
        item.appendChild(badge(status));
        item.appendChild(el('span', 'pynenc-count-n', n));
        list.appendChild(item);
      });
      this.body.appendChild(list);
    }

    const runners: RunnerRowJson[] = summary.runners || [];
    this.body.appendChild(el('h3', undefined, `Runners (${runners.filter(r => r.alive).length} alive)`));
    if (runners.length === 0) {
      this.body.appendChild(el('p', 'pynenc-note', 'No runner. Start one: %pynenc runner start, or pynenc runner start.'));
    } else {
      const list = el('ul', 'pynenc-list pynenc-runners');
      runners.forEach(r => {
        const item = el('li', r.alive ? 'pynenc-alive' : 'pynenc-silent');
        item.title = r.label;
        const line = el('div', 'pynenc-list-line');
        line.appendChild(dotted(r.name || r.label, el('span', 'pynenc-list-main pynenc-runner-name')));
        line.appendChild(el('span', 'pynenc-runner-state', r.alive ? r.state : `${r.state} (silent)`));
        item.appendChild(line);
        const detail = `${r.busy}/${r.slots} busy · heartbeat ${seconds(r.heartbeat_age_s)} ago`;
        item.appendChild(el('div', 'pynenc-list-detail', detail));
        list.appendChild(item);
      });
      this.body.appendChild(list);
    }

    this.invocationList(app, 'Running', summary.running || [], !!summary.running_more);
    this.invocationList(app, 'Recent failures', summary.failures || [], false);
  }

  /** Recent events: code and how many invocations its triggers created (each opens its detail). */
  private eventList(app: AppJson, page: EventsJson): void {
    const header = el('h3', 'pynenc-section-title', 'Events');
    const all = link('all events', () => this.opener.events(app), 'filter by code and trigger match');
    all.classList.add('pynenc-section-link');
    header.appendChild(all);
    this.body.appendChild(header);
    const rows: EventJson[] = page.items || [];
    if (rows.length === 0) {
      this.body.appendChild(el('p', 'pynenc-note', 'None yet. Emit one: %pynenc emit CODE {"key": "value"}.'));
      return;
    }
    const list = el('ul', 'pynenc-list pynenc-events');
    rows.forEach(event => {
      const item = el('li', event.matched ? 'pynenc-matched' : 'pynenc-unmatched');
      item.title = `event ${event.event_id}\n${event.payload}`;
      const line = el('div', 'pynenc-list-line');
      line.appendChild(dotted(event.code, el('span', 'pynenc-list-main pynenc-event-code')));
      const made = event.runs.filter(r => r.invocation_id).length;
      const verdict = event.matched ? `→ ${made} invocation${made === 1 ? '' : 's'}` : 'no trigger';
      line.appendChild(el('span', 'pynenc-event-made', verdict));
      item.appendChild(line);
      const detail = el('div', 'pynenc-list-detail');
      detail.appendChild(document.createTextNode(when(event.at)));
      event.runs.forEach(run => {
        const id = run.invocation_id;
        if (id) {
          detail.appendChild(document.createTextNode(' · '));
          detail.appendChild(link(id.slice(0, 10), () => this.opener.invocation(app, id), `${run.task_id}: details`));
        }
      });
      item.appendChild(detail);
      list.appendChild(item);
    });
    this.body.appendChild(list);
    if (page.next_cursor) {
      this.body.appendChild(el('p', 'pynenc-note', 'and more…'));
    }
  }

  /** Recent workflow runs: type, status, children and start (each opens the Workflow panel). */
  private workflowList(app: AppJson, page: WorkflowsJson): void {
    this.body.appendChild(el('h3', 'pynenc-section-title', 'Workflows'));
    const rows: WorkflowRunJson[] = page.items || [];
    if (rows.length === 0) {
      this.body.appendChild(el('p', 'pynenc-note', 'None yet. Define one with @app.workflow and call it.'));
      return;
    }
    const list = el('ul', 'pynenc-list pynenc-workflows');
    rows.forEach(run => {
      const item = el('li', run.parent_workflow_id ? 'pynenc-subworkflow' : 'pynenc-rootworkflow');
      item.dataset.workflowId = run.workflow_id;
      item.title = `${run.workflow_type}\nworkflow ${run.workflow_id}`;
      const line = el('div', 'pynenc-list-line');
      line.appendChild(badge(run.status));
      const name = link(shortName(run.workflow_type), () => this.opener.workflow(app, run.workflow_id), 'steps, data keys and members');
      name.classList.add('pynenc-list-main', 'pynenc-workflow-type');
      line.appendChild(name);
      item.appendChild(line);
      const detail = el('div', 'pynenc-list-detail');
      const children = `${run.children} child${run.children === 1 ? '' : 'ren'}`;
      detail.appendChild(document.createTextNode(`${children} · started ${when(run.started_at ?? run.created_at)}`));
      item.appendChild(detail);
      list.appendChild(item);
    });
    this.body.appendChild(list);
    if (page.next_cursor) {
      this.body.appendChild(el('p', 'pynenc-note', 'and more…'));
    }
  }

  /** One line per invocation: status and task (opens the task), then its id (opens its detail). */
  private invocationList(app: AppJson, title: string, rows: InvocationSummaryJson[], more: boolean): void {
    this.body.appendChild(el('h3', undefined, title));
    if (rows.length === 0) {
      this.body.appendChild(el('p', 'pynenc-note', 'None.'));
      return;
    }
    const list = el('ul', 'pynenc-list pynenc-invocations');
    rows.forEach(row => {
      const item = el('li');
      const line = el('div', 'pynenc-list-line');
      line.appendChild(badge(row.status));
      const task = link(row.task_id, () => this.opener.task(app, row.task_id), 'all invocations of this task');
      task.classList.add('pynenc-list-main');
      line.appendChild(task);
      item.appendChild(line);
      const detail = el('div', 'pynenc-list-detail');
      const id = String(row.invocation_id).slice(0, 10);
      detail.appendChild(link(id, () => this.opener.invocation(app, row.invocation_id), 'details and family tree'));
      detail.appendChild(document.createTextNode(` · ${when(row.updated_at)}`));
      item.appendChild(detail);
      list.appendChild(item);
    });
    this.body.appendChild(list);
    if (more) {
      this.body.appendChild(el('p', 'pynenc-note', 'and more…'));
    }
  }
}

/** "module.sub.my_flow" -> "my_flow". */
function shortName(taskId: string): string {
  return taskId.split('.').pop() || taskId;
}
