/**
 * Plotly figures drawn through the `application/vnd.plotly.v1+json` renderer that plotly's own
 * labextension (jupyterlab-plotly) registers: no plotly.js in our bundle (4.6 MB, served unzipped).
 */
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';

import { FigureDict } from './api';
import { el } from './dom';

export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** A panel that shows one figure at a time, replacing its renderer on each update. */
export class PlotHost extends Panel {
  constructor(private readonly rendermime: IRenderMimeRegistry | null) {
    super();
    this.addClass('pynenc-plot');
  }

  get canPlot(): boolean {
    return !!this.rendermime && this.rendermime.preferredMimeType({ [PLOTLY_MIME]: {} }, 'any') === PLOTLY_MIME;
  }

  async draw(figure: FigureDict): Promise<void> {
    const previous = Array.from(this.widgets);
    if (!this.canPlot || !this.rendermime) {
      const note = new Widget({ node: el('div', 'pynenc-note', 'Plotly renderer missing: install plotly>=5 (jupyterlab-plotly).') });
      this.addWidget(note);
    } else {
      const renderer = this.rendermime.createRenderer(PLOTLY_MIME);
      this.addWidget(renderer);
      await renderer.renderModel(
        new MimeModel({ data: { [PLOTLY_MIME]: { data: figure.data || [], layout: figure.layout || {}, config: { displaylogo: false, responsive: true } } } })
      );
    }
    previous.forEach(widget => widget.dispose());
  }
}
