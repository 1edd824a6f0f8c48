/**
 * DOM helpers that only ever set text: task names, arguments and errors come from user code and
 * are shown with textContent, never parsed as HTML.
 */

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string | number | null
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined && text !== null) {
    node.textContent = String(text);
  }
  return node;
}

export function clear(node: HTMLElement): void {
  while (node.firstChild) {
    node.removeChild(node.firstChild);
  }
}

/** "3.2 s", "4 min", "2 h": ages and durations at a glance. */
export function seconds(value: number | null | undefined): string {
  if (value === null || value === undefined || !isFinite(value)) {
    return '–';
  }
  if (value < 1) {
    return `${Math.round(value * 1000)} ms`;
  }
  if (value < 120) {
    return `${value.toFixed(1)} s`;
  }
  if (value < 7200) {
    return `${Math.round(value / 60)} min`;
  }
  return `${Math.round(value / 3600)} h`;
}

export function when(epochSeconds: number | null | undefined): string {
  if (!epochSeconds) {
    return '–';
  }
  return new Date(epochSeconds * 1000).toLocaleTimeString();
}

/** A small table from rows of cells; a cell may be a node (e.g. a link) or text. */
export function table(headers: string[], rows: (string | number | Node | null)[][], className = ''): HTMLTableElement {
  const t = el('table', `pynenc-table ${className}`.trim());
  const head = el('tr');
  headers.forEach(h => head.appendChild(el('th', undefined, h)));
  t.appendChild(head);
  rows.forEach(cells => {
    const tr = el('tr');
    cells.forEach(cell => {
      const td = el('td');
      if (cell instanceof Node) {
        td.appendChild(cell);
      } else if (cell !== null) {
        td.textContent = String(cell);
      }
      tr.appendChild(td);
    });
    t.appendChild(tr);
  });
  return t;
}

/** ``name`` as text into ``node``, with a line-break opportunity (<wbr>) after each dot. */
export function dotted<T extends HTMLElement>(name: string, node: T): T {
  name.split(/(?<=\.)/).forEach((part, index) => {
    if (index > 0) {
      node.appendChild(document.createElement('wbr'));
    }
    node.appendChild(document.createTextNode(part));
  });
  return node;
}

export function link(text: string, onClick: () => void, title?: string): HTMLAnchorElement {
  const a = dotted(text, el('a', 'pynenc-link')); // task ids wrap at their dots in narrow columns
  a.href = '#';
  if (title) {
    a.title = title;
  }
  a.addEventListener('click', event => {
    event.preventDefault();
    onClick();
  });
  return a;
}

/** Status colours and final statuses, as the server's status table defines them (GET statuses). */
const statusInfo: { [status: string]: { colour: string; final: boolean } } = {};

export function setStatuses(rows: { status: string; colour: string; final: boolean }[]): void {
  rows.forEach(row => {
    statusInfo[row.status] = { colour: row.colour, final: row.final };
  });
}

export function isFinal(status: string): boolean {
  return !!statusInfo[status]?.final;
}

export function badge(status: string): HTMLSpanElement {
  const span = el('span', 'pynenc-badge', status);
  const colour = statusInfo[status]?.colour;
  if (colour && /^#[0-9a-fA-F]{3,8}$/.test(colour)) {
    span.style.background = colour;
  }
  return span;
}
