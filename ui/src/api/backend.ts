// The one transport module: every engine operation goes through `Backend.call`, live events
// through `Backend.subscribe`. Two implementations of the same interface (API-CONTRACT.md):
// the web one (fetch + EventSource, for LAN browsers) and the Tauri one (IPC, in the desktop
// window). Views never know which one they talk to.
//
// Must never: decide what a user may do (the engine's role table does), or call the engine by
// any other path than `api/{op}` / `api_call`.

import type { Answer, ApiErrorBody, EngineEvent as Event, OpName, Request } from './generated/ops'

/**
 * An engine event (crates/station/src/events.rs), e.g. `{type:"study_changed", ...}`, or the
 * web backend's own `{type:"connection", online}` when its stream to the station drops or
 * comes back, or the stream's `{type:"lagged", missed}` when this tab fell behind (views
 * reload on any event, so nothing missed in between stays missed).
 */
export type EngineEvent = Event | { type: 'connection'; online: boolean } | { type: 'lagged'; missed: number }

/** The engine's error codes, and `network` when it could not be reached at all. */
export type ErrorCode = ApiErrorBody['error']['code'] | 'network'

/**
 * `call`'s body argument: the operation's request type, which may be left out when every
 * field of it may (`logout`, `me`, `studies_list`...).
 */
export type CallBody<O extends OpName> = Record<string, never> extends Request<O> ? [body?: Request<O>] : [body: Request<O>]

/** The engine's error answer, or `network` when the engine could not be reached at all. */
export class ApiError extends Error {
  constructor(
    public code: ErrorCode,
    message: string,
    public status = 0,
    /** The request field at fault (`destinations[0].url`), when the engine names one. */
    public field?: string,
    /** The engine's own words for it (often English), for a details toggle beside the message. */
    public detail?: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export interface Backend {
  readonly kind: 'web' | 'tauri'
  /**
   * Runs one operation (`login` included) and returns its answer, or throws ApiError. The
   * operation's name types both: a call cannot send another operation's request or read
   * another's answer (ops.ts, generated from the engine).
   */
  call<O extends OpName>(op: O, ...body: CallBody<O>): Promise<Answer<O>>
  /** Live engine events until the returned function is called. */
  subscribe(onEvent: (e: EngineEvent) => void): () => void
  /** URL of an engine-rendered preview image, for an `<img src>`. */
  previewUrl(sopInstanceUid: string): string
  /**
   * URL of one of the engine's binary answers (`/api/...`), for a link. Never the session
   * token: a browser sends its HttpOnly session cookie; the desktop window adds its file key.
   */
  fileUrl(path: string): string
  /**
   * The session this backend acts for (`null`: none). The web backend keeps only that there is
   * one (its browser holds the session as a cookie); the desktop one fetches its file key, so
   * wait for it before showing images.
   */
  setToken(token: string | null): void | Promise<void>
  setLanguage(lang: string): void
}

function toApiError(status: number, payload: unknown): ApiError {
  const err = (payload as Partial<ApiErrorBody> | null)?.error
  if (err?.code) return new ApiError(err.code, err.message ?? err.code, status, err.field ?? undefined, err.detail ?? undefined)
  return new ApiError(status >= 500 ? 'internal' : 'invalid', `HTTP ${status}`, status)
}

export class WebBackend implements Backend {
  readonly kind = 'web' as const
  /** Whether there is a session: the token itself stays in the browser's HttpOnly cookie. */
  private signedIn = false
  private lang = 'zh-CN'

  constructor(
    private base = '',
    private fetchFn: typeof fetch = (...a) => fetch(...a),
  ) {}

  setToken(token: string | null) {
    // A stream opened for another session (or none) must not go on.
    this.source?.close()
    this.source = null
    this.signedIn = token !== null
  }

  setLanguage(lang: string) {
    this.lang = lang
  }

  async call<O extends OpName>(op: O, ...[body = {}]: CallBody<O>): Promise<Answer<O>> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'Accept-Language': this.lang,
    }
    let res: Response
    try {
      res = await this.fetchFn(`${this.base}/api/${op}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        credentials: 'same-origin',
      })
    } catch (e) {
      throw new ApiError('network', String(e))
    }
    const payload = await res.json().catch(() => null)
    if (!res.ok) throw toApiError(res.status, payload)
    return payload as Answer<O>
  }

  /**
   * One event stream per tab, shared by every subscriber: browsers allow only six connections
   * to a host, and each open stream holds one.
   */
  private source: EventSource | null = null
  private listeners = new Set<(e: EngineEvent) => void>()

  subscribe(onEvent: (e: EngineEvent) => void): () => void {
    if (!this.signedIn || typeof EventSource === 'undefined') return () => {}
    this.listeners.add(onEvent)
    if (!this.source) {
      const source = new EventSource(`${this.base}/api/events`)
      source.onmessage = (m) => {
        let event: EngineEvent
        try {
          event = JSON.parse(m.data) as EngineEvent
        } catch {
          return // a keep-alive or a malformed line: nothing to show
        }
        this.listeners.forEach((l) => l(event))
      }
      const tell = (online: boolean) => this.listeners.forEach((l) => l({ type: 'connection', online }))
      source.onopen = () => tell(true)
      // EventSource reconnects by itself; until it has, the views are not live.
      source.onerror = () => tell(false)
      this.source = source
    }
    return () => {
      this.listeners.delete(onEvent)
      if (this.listeners.size === 0) {
        this.source?.close()
        this.source = null
      }
    }
  }

  previewUrl(uid: string): string {
    return this.fileUrl(`/api/preview/${encodeURIComponent(uid)}.png`)
  }

  fileUrl(path: string): string {
    return `${this.base}${path}`
  }
}

type Invoke = (cmd: string, args: Record<string, unknown>) => Promise<unknown>
type Listen = (
  event: string,
  handler: (e: { payload: unknown }) => void,
) => Promise<() => void>

export class TauriBackend implements Backend {
  readonly kind = 'tauri' as const
  private token: string | null = null
  /** The session's key for file URLs (`file_key`): the page is on another origin than them. */
  private fileKey: string | null = null
  private lang = 'zh-CN'

  constructor(
    private invoke: Invoke,
    private listen: Listen,
    /** The engine's HTTP address for images and print views (IPC cannot serve a URL). */
    private httpBase = '',
  ) {}

  async setToken(token: string | null) {
    this.token = token
    this.fileKey = null
    if (!token) return
    try {
      this.fileKey = (await this.call('file_key')).key
    } catch {
      // Without a key the images do not show; the calls still work.
    }
  }

  setLanguage(lang: string) {
    this.lang = lang
  }

  async call<O extends OpName>(op: O, ...[body = {}]: CallBody<O>): Promise<Answer<O>> {
    try {
      return (await this.invoke('api_call', { op, body, token: this.token })) as Answer<O>
    } catch (e) {
      // The command's error carries both languages: {code, message (Chinese), message_en}.
      const err = (e as { code?: string; message?: string; message_en?: string; field?: string; detail?: string } | null) ?? {}
      if (err.code) {
        const text = (this.lang === 'en' ? err.message_en : err.message) ?? err.message ?? err.code
        throw new ApiError(err.code as ErrorCode, text, 0, err.field, err.detail)
      }
      if ((e as { error?: unknown })?.error) throw toApiError(0, e)
      throw new ApiError('internal', String(e))
    }
  }

  subscribe(onEvent: (e: EngineEvent) => void): () => void {
    let stop: (() => void) | null = null
    let stopped = false
    this.listen('station-event', (e) => onEvent(e.payload as EngineEvent)).then((un) => {
      if (stopped) un()
      else stop = un
    })
    return () => {
      stopped = true
      stop?.()
    }
  }

  previewUrl(uid: string): string {
    return this.fileUrl(`/api/preview/${encodeURIComponent(uid)}.png`)
  }

  fileUrl(path: string): string {
    const key = this.fileKey ? `?key=${encodeURIComponent(this.fileKey)}` : ''
    return `${this.httpBase}${path}${key}`
  }
}

/** The desktop window has `__TAURI_INTERNALS__`; any browser on the LAN does not. */
export function isTauri(win: object): boolean {
  return '__TAURI_INTERNALS__' in win
}

/**
 * The desktop window showing a station service's own page (the shell found one running and
 * set `__STATION_ATTACHED__`): it talks HTTP to that service like any browser.
 */
export function isAttachedWindow(win: object): boolean {
  return '__STATION_ATTACHED__' in win
}

export async function createBackend(win: object = window): Promise<Backend> {
  if (isTauri(win) && !isAttachedWindow(win)) {
    const core = await import('@tauri-apps/api/core')
    const event = await import('@tauri-apps/api/event')
    // The desktop shell may tell the window where the engine's HTTP server is.
    const http = (win as { __STATION_HTTP__?: unknown }).__STATION_HTTP__
    return new TauriBackend(core.invoke as Invoke, event.listen as unknown as Listen, typeof http === 'string' ? http : '')
  }
  return new WebBackend()
}
