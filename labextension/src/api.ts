/**
 * The REST API of the pynenc_nb Jupyter server extension (pynenc_nb/jupyter_server).
 *
 * ServerConnection sends Jupyter's token and XSRF cookie, so this module adds no auth of its own.
 * The server sends view-models and display strings only: no connection URLs, no pickles.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export type Json = { [key: string]: any };

export interface AppInfo {
  key: string;
  app_id: string;
  backend: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

/** GET or POST ``pynenc/api/<path>`` and return the parsed JSON body. */
export async function requestAPI<T = Json>(
  path: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'pynenc', 'api', path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: any = {};
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text };
    }
  }
  if (!response.ok) {
    throw new ApiError(data.message || data.reason || response.statusText, response.status);
  }
  return data as T;
}

export function query(params: { [key: string]: string | number | null | undefined }): string {
  const parts = Object.entries(params)
    .filter(([, value]) => value !== null && value !== undefined && value !== '')
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

export function appPath(key: string, ...parts: string[]): string {
  return ['apps', encodeURIComponent(key), ...parts.map(encodeURIComponent)].join('/');
}
