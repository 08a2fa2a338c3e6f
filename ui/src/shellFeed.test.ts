import { afterEach, describe, expect, it } from 'vitest'
import { nextTick } from 'vue'
import type { Backend, EngineEvent } from './api/backend'
import { isAttachedWindow } from './api/backend'
import { session } from './session'
import { feedShell } from './shellFeed'

type User = NonNullable<typeof session.user>

function fakeBackend() {
  const listeners = new Set<(e: EngineEvent) => void>()
  const calls: string[] = []
  const backend = {
    kind: 'web',
    async call(op: string) {
      calls.push(op)
      if (op === 'links_list')
        return { links: [{ destination: 'hub', label: 'hub', url: 'http://hub', online: true, backlog: 2, failed: 1, held: 0, removed: false }] }
      if (op === 'study_get') return { study: { patient_name: '李^秀英' } }
      throw new Error(op)
    },
    subscribe(l: (e: EngineEvent) => void) {
      listeners.add(l)
      return () => listeners.delete(l)
    },
  } as unknown as Backend
  const emit = (e: EngineEvent) => listeners.forEach((l) => l(e))
  return { backend, calls, emit, listeners }
}

async function settle() {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0))
}

afterEach(() => {
  session.user = null
})

describe('feeding the desktop shell from an attached window', () => {
  it('only the window the shell marked is attached', () => {
    expect(isAttachedWindow({})).toBe(false)
    expect(isAttachedWindow({ __STATION_ATTACHED__: true })).toBe(true)
  })

  it('sends nothing before login, then the link list and a report with its patient', async () => {
    const { backend, calls, emit, listeners } = fakeBackend()
    const sent: { cmd: string; args: Record<string, unknown> }[] = []
    const stop = feedShell(backend, async (cmd, args) => void sent.push({ cmd, args }), 60_000)
    await settle()
    expect(sent).toEqual([])
    expect(listeners.size).toBe(0)

    session.user = { username: 'tech', role: 'technician' } as unknown as User
    await nextTick()
    await settle()
    expect(sent).toEqual([
      { cmd: 'attached_links', args: { links: [{ online: true, backlog: 2, failed: 1, held: 0, removed: false }] } },
    ])

    emit({ type: 'report_arrived', study_uid: '1.2.3', report_id: 7, is_final: true } as EngineEvent)
    await settle()
    expect(sent[1]).toEqual({
      cmd: 'attached_event',
      args: { event: { type: 'report_arrived', study_uid: '1.2.3', report_id: 7, is_final: true }, patient: '李^秀英' },
    })
    expect(sent[2].cmd).toBe('attached_links')
    expect(calls).toContain('study_get')

    // Logged out: the stream is left and nothing more is sent.
    session.user = null
    await nextTick()
    expect(listeners.size).toBe(0)
    stop()
  })
})
