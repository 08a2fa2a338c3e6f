import { afterEach, describe, expect, it, vi } from 'vitest'
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { ApiError, TauriBackend, WebBackend, createBackend, isTauri } from './backend'

afterEach(() => {
  clearMocks()
  delete (window as unknown as Record<string, unknown>).__TAURI_INTERNALS__
})

describe('backend selection', () => {
  it('a LAN browser gets the web backend', async () => {
    expect(isTauri({})).toBe(false)
    expect((await createBackend({})).kind).toBe('web')
  })

  it('the desktop window gets the Tauri backend, and its calls go through api_call', async () => {
    const seen: unknown[] = []
    mockIPC((cmd, args) => {
      seen.push({ cmd, args })
      return { studies: [] }
    })
    expect(isTauri(window)).toBe(true)
    const b = await createBackend(window)
    expect(b.kind).toBe('tauri')
    expect(b.previewUrl('1.2')).toBe('/api/preview/1.2.png')
    await b.setToken('tok')
    await expect(b.call('studies_list', { limit: 5 })).resolves.toEqual({ studies: [] })
    expect(seen).toEqual([
      { cmd: 'api_call', args: { op: 'file_key', body: {}, token: 'tok' } },
      { cmd: 'api_call', args: { op: 'studies_list', body: { limit: 5 }, token: 'tok' } },
    ])
  })
})

describe('the desktop window attached to a station service', () => {
  it('talks HTTP like a browser, though the shell is there', async () => {
    mockIPC(() => null)
    const win = window as unknown as Record<string, unknown>
    win.__STATION_ATTACHED__ = true
    try {
      expect((await createBackend(window)).kind).toBe('web')
    } finally {
      delete win.__STATION_ATTACHED__
    }
  })
})

describe('WebBackend', () => {
  function answering(status: number, body: unknown) {
    return vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) => new Response(JSON.stringify(body), { status }))
  }

  it('posts the body to /api/{op} with the language, the session being the cookie', async () => {
    const f = answering(200, { ok: 1 })
    const b = new WebBackend('http://st', f as unknown as typeof fetch)
    b.setToken('abc')
    b.setLanguage('en')
    await expect(b.call('study_hold', { study_uid: '1.2' })).resolves.toEqual({ ok: 1 })
    const [url, init] = f.mock.calls[0]
    expect(url).toBe('http://st/api/study_hold')
    expect(init?.method).toBe('POST')
    expect(JSON.parse(String(init?.body))).toEqual({ study_uid: '1.2' })
    const headers = init?.headers as Record<string, string>
    expect(headers.Authorization).toBeUndefined()
    expect(init?.credentials).toBe('same-origin')
    expect(headers['Content-Type']).toBe('application/json')
    expect(headers['Accept-Language']).toBe('en')
  })

  it("turns the engine's error answer into an ApiError with its code", async () => {
    const b = new WebBackend('', answering(403, { error: { code: 'forbidden', message: '无权限' } }) as unknown as typeof fetch)
    const err = (await b.call('users_list').catch((e) => e)) as ApiError
    expect(err).toBeInstanceOf(ApiError)
    expect(err.code).toBe('forbidden')
    expect(err.status).toBe(403)
    expect(err.message).toBe('无权限')
  })

  it("keeps an invalid request's field and the engine's own words apart from the sentence", async () => {
    const body = { error: { code: 'invalid', message: '缺少「姓名」，请填写后重试。', field: 'name', detail: 'missing field `name`' } }
    const b = new WebBackend('', answering(400, body) as unknown as typeof fetch)
    const err = (await b.call('users_list').catch((e) => e)) as ApiError
    expect(err).toMatchObject({ code: 'invalid', message: '缺少「姓名」，请填写后重试。', field: 'name', detail: 'missing field `name`' })
  })

  it('an unreachable engine is a network error, not a crash', async () => {
    const b = new WebBackend('', (async () => {
      throw new TypeError('Failed to fetch')
    }) as unknown as typeof fetch)
    await expect(b.call('me')).rejects.toMatchObject({ code: 'network' })
  })

  it('the desktop window reaches images over the HTTP address the shell gives it, with its file key', async () => {
    mockIPC((_cmd, args) => ((args as { op?: string }).op === 'file_key' ? { key: 'fk_1' } : null))
    const win = window as unknown as Record<string, unknown>
    win.__STATION_HTTP__ = 'http://127.0.0.1:8080'
    try {
      const b = await createBackend(window)
      await b.setToken('tk')
      const url = b.fileUrl('/api/report/7/print')
      expect(url).toBe('http://127.0.0.1:8080/api/report/7/print?key=fk_1')
      expect(url).not.toContain('tk')
    } finally {
      delete win.__STATION_HTTP__
    }
  })

  it('shares one event stream among all subscribers and closes it after the last', () => {
    const opened: FakeSource[] = []
    class FakeSource {
      onmessage: ((m: { data: string }) => void) | null = null
      onerror: (() => void) | null = null
      closed = false
      constructor(public url: string) {
        opened.push(this)
      }
      close() {
        this.closed = true
      }
    }
    const g = globalThis as unknown as Record<string, unknown>
    const saved = g.EventSource
    g.EventSource = FakeSource
    try {
      const b = new WebBackend('')
      b.setToken('tk')
      const a: unknown[] = []
      const c: unknown[] = []
      const stopA = b.subscribe((e) => a.push(e))
      const stopC = b.subscribe((e) => c.push(e))
      expect(opened.map((s) => s.url)).toEqual(['/api/events'])
      opened[0].onmessage!({ data: '{"type":"study_changed","study_uid":"1","state":"sending"}' })
      opened[0].onmessage!({ data: 'not json' })
      expect(a).toEqual([{ type: 'study_changed', study_uid: '1', state: 'sending' }])
      expect(c).toEqual(a)
      opened[0].onerror!()
      expect(a[1]).toEqual({ type: 'connection', online: false })
      stopA()
      expect(opened[0].closed).toBe(false)
      stopC()
      expect(opened[0].closed).toBe(true)
    } finally {
      g.EventSource = saved
    }
  })

  it('preview URLs never carry a token: the browser sends its session cookie', () => {
    const b = new WebBackend('')
    b.setToken('t k')
    expect(b.previewUrl('1.2.3')).toBe('/api/preview/1.2.3.png')
  })
})

describe('TauriBackend', () => {
  it("maps the command's error to an ApiError in the user's language", async () => {
    const b = new TauriBackend(
      async () => {
        throw { code: 'not_found', message: '没有这个操作', message_en: 'no such operation', detail: 'op x' }
      },
      async () => () => {},
    )
    await expect(b.call('reports_list')).rejects.toMatchObject({ code: 'not_found', message: '没有这个操作' })
    b.setLanguage('en')
    await expect(b.call('reports_list')).rejects.toMatchObject({ code: 'not_found', message: 'no such operation', detail: 'op x' })
  })

  it('subscribes to station-event and stops on unsubscribe', async () => {
    let handler: ((e: { payload: unknown }) => void) | null = null
    const un = vi.fn()
    const b = new TauriBackend(
      async () => null,
      async (_name, h) => {
        handler = h
        return un
      },
    )
    const got: unknown[] = []
    const stop = b.subscribe((e) => got.push(e))
    await Promise.resolve()
    handler!({ payload: { type: 'study_changed', study_uid: '1', state: 'sending' } })
    expect(got).toEqual([{ type: 'study_changed', study_uid: '1', state: 'sending' }])
    stop()
    expect(un).toHaveBeenCalled()
  })
})
