// A live Plotly figure (pynenc_nb/widgets/plotly_view.py): the kernel sends the figure once, then
// patches (pynenc_nb/widgets/patch.py); plotly.js itself is loaded once per page, from the Jupyter
// server's route or else from the kernel, not with every figure.

function apply(value, patch) {
  if (patch == null) return value;
  if ('=' in patch) return patch['='];
  if ('{' in patch) {
    const out = value && typeof value === 'object' && !Array.isArray(value) ? { ...value } : {};
    for (const [key, sub] of Object.entries(patch['{'])) out[key] = apply(out[key], sub);
    for (const key of patch['-'] || []) delete out[key];
    return out;
  }
  if ('[' in patch) {
    const appended = patch['+'] || [];
    const kept = patch['['] - appended.length;
    const out = Array.isArray(value) ? value.slice(0, kept) : [];
    while (out.length < kept) out.push(null);
    (patch.at || []).forEach((index, j) => { out[index] = apply(out[index], patch.p[j]); });
    return out.concat(appended);
  }
  return value;
}

function baseUrl() {
  const config = document.getElementById('jupyter-config-data');
  try {
    const url = config && JSON.parse(config.textContent || '{}').baseUrl;
    return typeof url === 'string' ? url : null;
  } catch (error) {
    return null;
  }
}

function runScript(src) {
  return new Promise(resolve => {
    const script = document.createElement('script');
    script.src = src;
    script.async = true;
    script.onload = () => resolve(Boolean(globalThis.Plotly));
    script.onerror = () => resolve(false);
    document.head.appendChild(script);
  });
}

// The bundle from the kernel, for a page without the server's route; the kernel answers once the
// cell it runs (if any) has finished.
function fromKernel(model) {
  return new Promise(resolve => {
    const received = async (message, buffers) => {
      if (!message || message.type !== 'source') return;
      model.off('msg:custom', received);
      if (!buffers || !buffers.length) return resolve(false);
      const url = URL.createObjectURL(new Blob([buffers[0]], { type: 'text/javascript' }));
      const loaded = await runScript(url);
      URL.revokeObjectURL(url);
      resolve(loaded);
    };
    model.on('msg:custom', received);
    model.send({ type: 'source' });
  });
}

// plotly.js, loaded once per page whichever view asks first (a global: each model may get its own
// instance of this module). A failed load is forgotten, so the next view tries again.
function plotly(model) {
  if (globalThis.Plotly) return Promise.resolve(globalThis.Plotly);
  if (!globalThis.__pynencPlotly) {
    globalThis.__pynencPlotly = (async () => {
      const base = baseUrl();
      const fromServer = base !== null && (await runScript(base.replace(/\/?$/, '/') + model.get('plotly')));
      if (!fromServer && !(await fromKernel(model))) throw new Error('pynenc_nb: plotly.js did not load');
      return globalThis.Plotly;
    })().catch(error => {
      globalThis.__pynencPlotly = null;
      throw error;
    });
  }
  return globalThis.__pynencPlotly;
}

// Until the view is in the page and has a width: a figure drawn earlier keeps plotly's default 700 px.
async function placed(el) {
  for (let i = 0; i < 600 && !(el.isConnected && el.clientWidth > 0); i++) {
    await new Promise(r => requestAnimationFrame(r));
  }
}

// The figure of each model, kept from the model's creation on (anywidget's initialize), so a patch
// sent before a view rendered (plotly.js still loading) is applied all the same. Keyed by the
// model's own key: the model objects anywidget hands to initialize and render are per-call proxies.
const STATES = new Map();

function stateOf(model) {
  const key = model.get('key');
  let state = STATES.get(key);
  if (state) return state;
  state = {
    figure: model.get('figure') || { data: [], layout: {} },
    version: model.get('version') || 0,
    views: new Set(),
    syncing: false, // asked for the whole figure: later patches wait for it, and are not asked again
  };
  STATES.set(key, state);
  model.on('msg:custom', message => {
    if (!message || typeof message !== 'object') return;
    if (message.type === 'full') {
      state.figure = message.figure;
      state.version = message.version;
      state.syncing = false;
    } else if (message.type === 'patch') {
      if (message.base !== state.version) {
        if (!state.syncing) model.send({ type: 'sync', version: state.version }); // a patch missed
        state.syncing = true;
        return;
      }
      state.figure = apply(state.figure, message.patch);
      state.version = message.version;
    } else {
      return;
    }
    for (const redraw of state.views) redraw();
  });
  return state;
}

export default {
  initialize({ model }) {
    const key = model.get('key');
    stateOf(model);
    plotly(model).catch(() => {}); // start now, without holding anywidget's 2 s for initialize; render reports failure
    return () => STATES.delete(key); // the model is gone: so is its figure
  },
  async render({ model, el }) {
    const state = stateOf(model);
    const Plotly = await plotly(model);
    const div = document.createElement('div');
    el.appendChild(div);
    let revision = 0;
    let drawn = false;
    let frame = 0;
    const config = { ...(model.get('config') || {}), responsive: true };
    // Copies: plotly.js writes into what it is given (ranges, legend clicks), and the state must
    // stay what the kernel sent, for the next patch to apply to.
    const layoutOf = () => structuredClone({ uirevision: 'pynenc', ...(state.figure.layout || {}), datarevision: ++revision });
    const dataOf = () => structuredClone(state.figure.data || []);
    const draw = () => {
      frame = 0;
      // uirevision: a redraw keeps what the user zoomed or panned; datarevision: redraw the data
      if (drawn) Plotly.react(div, dataOf(), layoutOf(), config);
    };
    const later = () => { if (!frame) frame = requestAnimationFrame(draw); };
    state.views.add(later);
    await placed(el);
    drawn = true;
    await Plotly.newPlot(div, dataOf(), layoutOf(), config);
    div.on('plotly_click', event => {
      const point = event && event.points && event.points[0];
      if (point) {
        const id = typeof point.customdata === 'string' ? point.customdata : null;
        model.send({ type: 'click', trace: point.curveNumber, point: point.pointNumber, version: state.version, id });
      }
    });
    const resize = new ResizeObserver(() => {
      if (div.isConnected && div.clientWidth > 0 && div._fullLayout && Math.abs(div.clientWidth - div._fullLayout.width) > 2) {
        Plotly.Plots.resize(div);
      }
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      state.views.delete(later);
      if (frame) cancelAnimationFrame(frame);
      Plotly.purge(div);
    };
  },
};
