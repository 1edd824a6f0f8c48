/**
 * The REST API of the pynenc_nb Jupyter server extension (pynenc_nb/jupyter_server).
 *
 * ServerConnection sends Jupyter's token and XSRF cookie, so this module adds no auth of its own.
 * The server sends view-models and display strings only: no connection URLs, no pickles.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/*
 * The JSON the server sends: one interface per TypedDict of pynenc_nb/monitor/models.py (the view
 * models) and pynenc_nb/web/queries.py (the answers around them), with the same name and keys.
 * tests/monitor/test_browser_types.py parses what follows up to "end of the JSON shapes", so keep
 * its format:
 *   export type Name = <type>;                                may wrap, ends at `;`
 *   export interface Name {   or   export interface Name extends Base, Other {
 *     key: <type>;   or   key?: <type>;                       one key per line, `//` comments allowed
 *   }
 * <type> is built from string, number, boolean, null, any, 'literal', the names declared here,
 * X[], (A | B)[], Record<string, X> and A | B; no inline object types ({...}).
 */

/** InvocationStatus values, in table order. */
export type StatusName =
  'REGISTERED' | 'PENDING' | 'RUNNING' | 'PAUSED' | 'RETRY' | 'SUCCESS' | 'FAILED' | 'KILLED' | 'REROUTED' | 'CONCURRENCY_CONTROLLED' | 'CONCURRENCY_CONTROLLED_FINAL' | 'PENDING_RECOVERY' | 'RUNNING_RECOVERY';
export type LaneKind = 'queued' | 'runner';

// --- view models (pynenc_nb/monitor/models.py)

export interface InvocationSummaryJson {
  invocation_id: string;
  task_id: string;
  status: StatusName;
  final: boolean;
  args: Record<string, string>; // argument name -> display string
  parent_id: string | null;
  workflow_id: string | null;
  owner_id: string | null;
  num_retries: number;
  recoveries: number;
  created_at: number;
  updated_at: number;
}

export interface InvocationPageJson {
  rows: InvocationSummaryJson[];
  next_cursor: string | null;
  generated_at: number;
}

export interface StatusSegmentJson {
  invocation_id: string;
  task_id: string;
  status: StatusName;
  start: number;
  end: number | null;
  lane: string;
  row: number;
}

/** Segment i is (invocation_id[i], task_id[i], status[i], start[i], end[i], lane[i], row[i]). */
export interface SegmentColumnsJson {
  invocation_id: string[];
  task_id: string[];
  status: StatusName[];
  start: number[];
  end: (number | null)[];
  lane: string[];
  row: number[];
}

export interface LaneJson {
  lane_id: string;
  kind: LaneKind;
  label: string;
  runner_cls: string | null;
  hostname: string | null;
  parent_runner_id: string | null;
  rows: number;
  name: string | null; // the launch name, if any
  slots: number; // worker slots (0: unknown)
  paused_row: number | null; // the row of paused invocations
}

export interface LinkJson {
  parent_id: string;
  child_id: string;
}

export interface EventMarkerJson {
  event_id: string;
  code: string;
  at: number;
  invocation_ids: string[]; // created by the trigger runs of this event
}

export interface TimelineInvocationJson {
  invocation_id: string;
  task_id: string;
  status: StatusName;
  args: Record<string, string>;
  parent_id: string | null;
  workflow_id: string | null;
  created_at: number;
  updated_at: number;
  durations: Record<string, number>; // status -> seconds spent in it
  total_s: number;
  hover: string; // Plotly hover markup, already escaped
}

export interface TimelineJson {
  start: number | null;
  end: number | null;
  generated_at: number;
  lanes: LaneJson[];
  segments: SegmentColumnsJson;
  invocations: TimelineInvocationJson[];
  links: LinkJson[];
  workflow_roots: string[];
  events: EventMarkerJson[];
  next_cursor: string | null;
}

export interface TreeNodeJson {
  invocation_id: string;
  task_id: string;
  status: StatusName;
  args: Record<string, string>;
  created_at: number;
  updated_at: number;
  layer: number;
  x: number;
  y: number;
  children_listed: boolean;
}

export interface TreeEdgeJson {
  parent_id: string;
  child_id: string;
}

export interface FamilyTreeJson {
  root_id: string;
  root_parent_id: string | null;
  depth: number;
  nodes: TreeNodeJson[];
  edges: TreeEdgeJson[];
  truncated: boolean;
  generated_at: number;
}

export interface ExceptionJson {
  type: string;
  message: string;
  traceback: string;
}

export interface HistoryEntryJson {
  status: StatusName;
  at: number;
  owner_id: string | null;
  owner_label: string | null;
  runner_id: string | null;
  runner_label: string | null;
  reason: string | null;
}

export interface WorkflowJson {
  workflow_id: string;
  workflow_type: string;
  parent_workflow_id: string | null;
  is_root: boolean;
}

export interface InvocationOriginJson {
  run_id: string;
  trigger_id: string;
  source_kind: string; // event | status | cron | composite
  source_id: string; // event id, invocation id, tick (ISO UTC); a composite's joined by ","
  event_code: string | null;
  at: number;
}

export interface InvocationDetailJson {
  invocation: InvocationSummaryJson;
  call_id: string;
  queue: string;
  priority: number;
  task_version: string | null;
  owner_label: string | null;
  result: string | null;
  exception: ExceptionJson | null;
  history: HistoryEntryJson[];
  parent: InvocationSummaryJson | null;
  children: InvocationSummaryJson[];
  children_next_cursor: string | null;
  workflow: WorkflowJson | null;
  origin: InvocationOriginJson | null; // the trigger run that created it
  generated_at: number;
}

export interface RunnerJson {
  runner_id: string;
  label: string;
  name: string | null;
  runner_cls: string;
  hostname: string;
  pid: number;
  parent_runner_id: string | null;
  state: string; // running | stopping | stopped | lost
  slots: number;
  busy: number;
  started_at: number;
  last_heartbeat: number;
  heartbeat_age_s: number;
  alive: boolean;
}

export interface TaskJson {
  task_id: string;
  defined_here: boolean;
  is_workflow: boolean | null;
  module: string | null;
  qualname: string | null;
  version: string | null;
  counts: Record<string, number> | null;
}

export interface TriggerRunJson {
  run_id: string;
  trigger_id: string;
  task_id: string;
  source_kind: string; // event | status | cron | composite
  source_id: string;
  event_code: string | null;
  invocation_id: string | null; // null: the firing made no invocation
  status: StatusName | null; // of the created invocation, now
  at: number;
}

export interface EventJson {
  event_id: string;
  code: string;
  at: number;
  payload: string; // JSON text, bounded: user data, shown as text
  payload_truncated: boolean;
  emitter_invocation_id: string | null;
  emitted_by: string | null;
  matched: boolean;
  runs: TriggerRunJson[];
}

export interface EventPageJson {
  rows: EventJson[];
  next_cursor: string | null;
  generated_at: number;
}

export interface TriggerRunPageJson {
  rows: TriggerRunJson[];
  generated_at: number;
}

export interface TriggerJson {
  trigger_id: string;
  task_id: string;
  logic: string; // and | or
  conditions: string[]; // e.g. "on_event feed_updated"
  event_codes: string[];
  summary: string;
}

export interface WorkflowRunJson {
  workflow_id: string; // the root invocation's id
  workflow_type: string; // the task id of the @app.workflow
  status: StatusName;
  final: boolean;
  parent_workflow_id: string | null; // set on a sub-workflow
  args: Record<string, string>;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  ended_at: number | null;
  duration_s: number | null;
  children: number; // members, the root excluded
  children_by_status: Record<string, number>;
}

export interface WorkflowPageJson {
  rows: WorkflowRunJson[];
  types: string[];
  next_cursor: string | null;
  generated_at: number;
}

export interface WorkflowStepJson {
  step: number;
  kind: string; // uuid | random | utc_now | task
  value: string | null;
  task_id: string | null;
  call: string | null;
  invocation_id: string | null;
  attempt: number | null;
  status: StatusName | null;
}

export interface WorkflowDetailJson {
  workflow: WorkflowRunJson;
  steps: WorkflowStepJson[];
  steps_truncated: boolean;
  data_keys: string[]; // keys only: values may be pickles
  data_keys_truncated: boolean;
  members: InvocationSummaryJson[];
  members_next_cursor: string | null;
  subworkflows: InvocationSummaryJson[];
  subworkflows_truncated: boolean;
  generated_at: number;
}

// --- answers of the routes (pynenc_nb/web/queries.py)

/** A Plotly figure (pynenc_nb/widgets/figures/common.py). */
export interface FigureDict {
  data: Record<string, any>[];
  layout: Record<string, any>;
}

export interface AppJson {
  key: string;
  app_id: string;
  backend: string;
  broker: string | null;
  folder: string | null;
  source: 'config' | 'registry';
  first_seen: number | null;
  last_seen: number | null;
  available: boolean;
  kernels: string[]; // ids of the Jupyter kernels that used the app, newest last
}

export interface AppsJson {
  apps: AppJson[];
}

export interface StatusInfoJson {
  status: StatusName;
  colour: string;
  final: boolean;
}

export interface StatusesJson {
  statuses: StatusInfoJson[];
}

export interface RunnerRowJson extends RunnerJson {
  launched_kind: string | null;
  stoppable: boolean;
}

export interface RunnersJson {
  items: RunnerRowJson[];
  generated_at: number;
}

export interface RunnerTotalsJson {
  total: number;
  alive: number;
  slots: number;
  busy: number;
}

export interface SummaryJson {
  counts: Record<string, number>;
  total: number;
  runners: RunnerRowJson[];
  runner_totals: RunnerTotalsJson;
  failures: InvocationSummaryJson[];
  running: InvocationSummaryJson[];
  running_more: boolean;
  generated_at: number;
}

export interface AppSummaryJson extends SummaryJson {
  app: AppJson;
}

export interface InvocationsJson {
  items: InvocationSummaryJson[];
  next_cursor: string | null;
  generated_at: number;
}

export interface RerunJson {
  invocation_id: string;
  status: StatusName;
  task_id: string;
  new: boolean;
}

export interface FamilyTreeAnswerJson extends FamilyTreeJson {
  figure?: FigureDict; // with figure=1
}

export interface KillJson {
  invocation_id: string;
  status: StatusName;
}

export interface TimelineAnswerJson extends TimelineJson {
  figure?: FigureDict; // with figure=1
}

export interface TasksJson {
  items: TaskJson[];
}

export interface EventsJson {
  items: EventJson[];
  next_cursor: string | null;
  generated_at: number;
}

export interface TriggerRunsJson {
  items: TriggerRunJson[];
  generated_at: number;
}

export interface TriggersJson {
  items: TriggerJson[];
}

export interface WorkflowsJson {
  items: WorkflowRunJson[];
  types: string[];
  next_cursor: string | null;
  generated_at: number;
}

// --- log explorer (pynenc_nb/monitor/log_models.py)

export type LogFormat = 'text' | 'json' | 'unparsed';
export type RunnerRole = 'runner' | 'worker';

export interface LogRunnerJson {
  runner_class: string | null; // as written: TR or ThreadRunner
  runner_id: string | null; // as written: 8 characters or the whole id
  worker_class: string | null;
  worker_id: string | null;
  hostname: string | null;
  pid: number | null;
}

export interface LogLineJson {
  number: number; // 1-based line of the pasted text
  raw: string;
  format: LogFormat;
  parsed: boolean;
  timestamp: number | null;
  level: string | null;
  logger: string | null;
  runner: LogRunnerJson | null;
  invocation_id: string | null;
  task_id: string | null;
  message: string;
  invocation_ids: string[];
  task_ids: string[];
  runner_ids: string[];
}

export interface LogInvocationJson {
  invocation_id: string;
  found: boolean;
  invocation: InvocationSummaryJson | null;
  owner_label: string | null;
  lines: number[];
}

export interface LogRunnerRefJson {
  written: string;
  role: RunnerRole;
  runner_id: string | null;
  label: string | null;
  lines: number;
}

export interface LogExplorerJson {
  lines: LogLineJson[];
  parsed: number;
  unparsed: number;
  invocations: LogInvocationJson[];
  runners: LogRunnerRefJson[];
  tasks: string[];
  timeline: TimelineJson;
  highlighted_lanes: string[];
  truncated: boolean;
  generated_at: number;
}

export interface LogsAnswerJson extends LogExplorerJson {
  figure: FigureDict;
}

// --- end of the JSON shapes

/** The body of an error answer (MonitorHandler.write_error), or the text of one that is not JSON. */
interface ErrorBody {
  message?: string;
  reason?: string;
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
export async function requestAPI<T>(
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
  let data: unknown = {};
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text };
    }
  }
  if (!response.ok) {
    const body = data as ErrorBody;
    throw new ApiError(body.message || body.reason || response.statusText, response.status);
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
