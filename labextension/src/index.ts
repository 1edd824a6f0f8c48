/**
 * JupyterLab plugin of pynenc_nb: the "Pynenc" left sidebar, main-area panels (timeline,
 * invocation + family tree, task, events, workflow), command-palette entries, layout restore, and
 * fresh snapshots of live widgets before a notebook is saved.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { AppJson, StatusesJson, requestAPI } from './api';
import { setStatuses } from './dom';
import { LogsPanel } from './logs';
import { EventsPanel, InvocationPanel, PanelSpec, TaskPanel, TimelinePanel, WorkflowPanel, specId, specTitle } from './panels';
import { refreshBeforeSaves } from './saving';
import { PynencSidebar, SIDEBAR_ID, pynencIcon } from './sidebar';

const PLUGIN_ID = 'pynenc-nb:plugin';
const OPEN = 'pynenc:open';
const SHOW_SIDEBAR = 'pynenc:show-sidebar';
const OPEN_TIMELINE = 'pynenc:open-timeline';
const TIMELINE_WINDOW_S = 600;

/** The kernel id of a notebook (or console) widget, read without depending on the notebook package. */
function kernelOf(widget: unknown): string | null {
  const context = (widget as { sessionContext?: { session?: { kernel?: { id?: string } | null } | null } } | null)
    ?.sessionContext;
  return context?.session?.kernel?.id ?? null;
}

/** The kernel of the notebook in focus: the shell's current widget, else the visible main-area
 * widget with a kernel (a notebook opened from a URL is shown without having had focus). */
function focusedKernel(shell: JupyterFrontEnd.IShell): string | null {
  const current = kernelOf(shell.currentWidget);
  if (current) {
    return current;
  }
  for (const widget of shell.widgets('main')) {
    const kernel = widget.isVisible ? kernelOf(widget) : null;
    if (kernel) {
      return kernel;
    }
  }
  return null;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Pynenc sidebar: runners, invocations, timelines and family trees of pynenc_nb apps.',
  autoStart: true,
  optional: [ILayoutRestorer, IRenderMimeRegistry, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    rendermime: IRenderMimeRegistry | null,
    palette: ICommandPalette | null
  ) => {
    const tracker = new WidgetTracker<MainAreaWidget>({ namespace: 'pynenc' });
    const specs = new WeakMap<MainAreaWidget, PanelSpec>();

    const open = (spec: PanelSpec): void => {
      const id = specId(spec);
      const existing = tracker.find(w => specs.get(w) !== undefined && specId(specs.get(w)!) === id);
      if (existing) {
        app.shell.activateById(existing.id);
        return;
      }
      let content;
      switch (spec.kind) {
        case 'timeline':
          content = new TimelinePanel(spec, rendermime, open);
          break;
        case 'invocation':
          content = new InvocationPanel(spec, rendermime, open);
          break;
        case 'task':
          content = new TaskPanel(spec, open);
          break;
        case 'events':
          content = new EventsPanel(spec, open);
          break;
        case 'workflow':
          content = new WorkflowPanel(spec, open);
          break;
        case 'logs': {
          const info = spec.app;
          const panelId = `pynenc-${id}`.replace(/[^A-Za-z0-9_-]/g, '-');
          content = new LogsPanel(info, rendermime, invocationId => open({ kind: 'invocation', app: info, invocationId }), panelId, specTitle(spec));
          break;
        }
      }
      const widget = new MainAreaWidget({ content });
      widget.id = content.id;
      widget.title.label = content.title.label;
      widget.title.icon = pynencIcon;
      widget.title.closable = true;
      specs.set(widget, spec);
      void tracker.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
    };

    const sidebar = new PynencSidebar(
      {
        timeline: (info: AppJson) => open({ kind: 'timeline', app: info, since: TIMELINE_WINDOW_S }),
        invocation: (info: AppJson, invocationId: string) => open({ kind: 'invocation', app: info, invocationId }),
        task: (info: AppJson, taskId: string) => open({ kind: 'task', app: info, taskId }),
        events: (info: AppJson) => open({ kind: 'events', app: info }),
        workflow: (info: AppJson, workflowId: string) => open({ kind: 'workflow', app: info, workflowId }),
        logs: (info: AppJson) => open({ kind: 'logs', app: info })
      },
      () => focusedKernel(app.shell)
    );
    app.shell.add(sidebar, 'left', { rank: 900 });
    type Signal = { connect: (slot: () => void) => void };
    const shell = app.shell as unknown as { currentChanged?: Signal; layoutModified?: Signal };
    // notebooks showing live widgets refresh their snapshots before each save (saving.ts)
    const wrapSaves = (): void => {
      for (const widget of app.shell.widgets('main')) {
        refreshBeforeSaves(widget);
      }
    };
    shell.currentChanged?.connect(() => {
      sidebar.focusChanged();
      wrapSaves();
    });
    shell.layoutModified?.connect(wrapSaves);
    void app.restored.then(wrapSaves);

    requestAPI<StatusesJson>('statuses')
      .then(data => setStatuses(data.statuses || []))
      .catch(error => console.warn('pynenc-nb: no status table from the server extension', error));

    app.commands.addCommand(OPEN, {
      label: 'Pynenc: open panel',
      execute: args => open(args as unknown as PanelSpec)
    });
    app.commands.addCommand(SHOW_SIDEBAR, {
      label: 'Pynenc: Show Sidebar',
      execute: () => app.shell.activateById(SIDEBAR_ID)
    });
    app.commands.addCommand(OPEN_TIMELINE, {
      label: 'Pynenc: Open Timeline of the Selected App',
      isEnabled: () => sidebar.currentApp() !== null,
      execute: () => {
        const current = sidebar.currentApp();
        if (current) {
          open({ kind: 'timeline', app: current, since: TIMELINE_WINDOW_S });
        }
      }
    });
    if (palette) {
      palette.addItem({ command: SHOW_SIDEBAR, category: 'Pynenc' });
      palette.addItem({ command: OPEN_TIMELINE, category: 'Pynenc' });
    }
    if (restorer) {
      restorer.add(sidebar, SIDEBAR_ID);
      void restorer.restore(tracker, {
        command: OPEN,
        args: widget => (specs.get(widget) ?? {}) as any,
        name: widget => {
          const spec = specs.get(widget);
          return spec ? specId(spec) : widget.id;
        }
      });
    }
  }
};

export default plugin;
