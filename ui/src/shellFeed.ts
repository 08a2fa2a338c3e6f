// The desktop window attached to a station service (api/backend.ts `isAttachedWindow`): this
// page holds the login, so it hands the desktop shell what the shell's tray line and OS
// notifications need — the service's link list after each event and every few seconds, and a
// report or overdue study with its patient's name — through the two commands the shell lets
// this origin call (src-tauri/src/attached.rs).
//
// Must never: hand the shell a token or any other data, or call anything but `attached_links`
// and `attached_event`.
import { watch } from 'vue'
import type { Backend, EngineEvent } from './api/backend'
import { can, session } from './session'

export type Invoke = (cmd: string, args: Record<string, unknown>) => Promise<unknown>

/** How often the link list is sent when no event comes (link probes are not all events). */
const EVERY_MS = 5000

/** Feeds the shell while someone is logged in; returns the function that stops it. */
export function feedShell(backend: Backend, invoke: Invoke, everyMs = EVERY_MS): () => void {
  let unsubscribe: (() => void) | null = null
  let timer: ReturnType<typeof setInterval> | null = null
  let sending = false

  const sendLinks = async () => {
    if (sending || !can('links_list')) return
    sending = true
    try {
      const { links } = await backend.call('links_list')
      const summary = links.map((l) => ({
        online: l.online ?? null,
        backlog: l.backlog,
        failed: l.failed,
        held: l.held,
        removed: l.removed,
      }))
      await invoke('attached_links', { links: summary })
    } catch {
      // The next event or tick tries again; the tray keeps its last line meanwhile.
    } finally {
      sending = false
    }
  }

  const onEvent = async (e: EngineEvent) => {
    if (e.type === 'report_arrived' || e.type === 'study_overdue') {
      let patient = ''
      try {
        if (can('study_get')) patient = (await backend.call('study_get', { study_uid: e.study_uid })).study.patient_name
      } catch {
        // Notified without the name rather than not at all.
      }
      await invoke('attached_event', { event: e, patient }).catch(() => {})
    }
    await sendLinks()
  }

  const stopFeeding = () => {
    unsubscribe?.()
    unsubscribe = null
    if (timer) clearInterval(timer)
    timer = null
  }

  const stopWatching = watch(
    () => session.user,
    (user) => {
      stopFeeding()
      if (!user) return
      unsubscribe = backend.subscribe((e) => void onEvent(e))
      timer = setInterval(() => void sendLinks(), everyMs)
      void sendLinks()
    },
    { immediate: true },
  )
  return () => {
    stopWatching()
    stopFeeding()
  }
}
