/**
 * Before JupyterLab saves a notebook that shows live pynenc widgets, ask its kernel to refresh the
 * widgets' static snapshots (comm target `pynenc_nb.snapshots`, pynenc_nb/widgets/snapshots.py),
 * so the saved file shows the figure of the moment of the save, not of the moment the widget was
 * shown. The server's pre-save hook then keeps the snapshot and drops the widget view.
 *
 * The save waits at most SNAPSHOT_WAIT_MS: a kernel busy running a cell answers only once it is
 * idle, and the save goes on with the snapshots the outputs already have. Saves are found by
 * wrapping each document context's `save` (what Ctrl+S, the menu and autosave call), which keeps
 * the plugin free of a dependency on the notebook package.
 */

const COMM_TARGET = 'pynenc_nb.snapshots';
const SNAPSHOT_WAIT_MS = 2500;
const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';

interface IComm {
  onMsg: (msg: unknown) => void;
  onClose: (msg: unknown) => void;
  open(data?: unknown): unknown;
}

interface IKernel {
  createComm(target: string): IComm;
}

interface IContext {
  save: (...args: unknown[]) => Promise<void>;
  model?: { toJSON?: () => unknown };
  sessionContext?: { session?: { kernel?: IKernel | null } | null };
}

const wrapped = new WeakSet<object>();

/** Whether the notebook has a live pynenc widget: an output with our snapshot mark and a widget view. */
function hasLiveWidget(context: IContext): boolean {
  const content = context.model?.toJSON?.() as { cells?: { outputs?: unknown[] }[] } | undefined;
  for (const cell of content?.cells ?? []) {
    for (const output of cell.outputs ?? []) {
      const { data, metadata } = output as { data?: Record<string, unknown>; metadata?: Record<string, unknown> };
      const mark = metadata?.pynenc_nb as { snapshot?: boolean } | undefined;
      if (mark?.snapshot && data && WIDGET_VIEW_MIME in data) {
        return true;
      }
    }
  }
  return false;
}

/** Ask the kernel for fresh snapshots; resolves on its answer, when it closes the comm, or after the wait. */
export function refreshSnapshots(kernel: IKernel, waitMs = SNAPSHOT_WAIT_MS): Promise<void> {
  return new Promise<void>(resolve => {
    const timer = window.setTimeout(resolve, waitMs);
    const done = (): void => {
      window.clearTimeout(timer);
      // the kernel's display updates came before its answer: let the output models apply them
      window.setTimeout(resolve, 0);
    };
    try {
      const comm = kernel.createComm(COMM_TARGET);
      comm.onMsg = done;
      comm.onClose = done;
      comm.open({});
    } catch (error) {
      console.warn('pynenc-nb: could not ask the kernel for fresh widget snapshots', error);
      done();
    }
  });
}

/** Wrap the `save` of a document widget's context (once); other widgets are left alone. */
export function refreshBeforeSaves(widget: unknown): void {
  const context = (widget as { context?: IContext } | null)?.context;
  if (!context || wrapped.has(context) || typeof context.save !== 'function' || !context.sessionContext) {
    return;
  }
  wrapped.add(context);
  const save = context.save.bind(context);
  context.save = async (...args: unknown[]): Promise<void> => {
    const kernel = context.sessionContext?.session?.kernel;
    if (kernel && hasLiveWidget(context)) {
      await refreshSnapshots(kernel);
    }
    return save(...args);
  };
}
