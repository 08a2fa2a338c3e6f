// Loading an engine answer into a screen: the data, whether it is loading, the error (as an
// ApiError, so the screen can say what to do), and live reloads driven by engine events.
//
// Must never: show an older answer over a newer one (each reload supersedes the last), or
// reload once per event in a burst.
import { onMounted, onUnmounted, ref, shallowRef, type Ref } from 'vue'
import { ApiError, type EngineEvent } from './api/backend'
import { useRouter } from 'vue-router'
import { forget, useBackend } from './session'

export interface Loaded<T> {
  data: Ref<T | null>
  loading: Ref<boolean>
  error: Ref<unknown>
  /** True when the engine does not know the operation yet (an older engine). */
  missing: Ref<boolean>
  reload: () => Promise<void>
}

export function isMissingOp(e: unknown): boolean {
  return e instanceof ApiError && e.code === 'not_found'
}

export function useLoad<T>(load: () => Promise<T>, immediate = true): Loaded<T> {
  const data = shallowRef<T | null>(null) as Ref<T | null>
  const loading = ref(false)
  const error = shallowRef<unknown>(null)
  const missing = ref(false)
  // Absent in unit tests that mount a screen without a router.
  const router = useRouter()
  let seq = 0
  async function reload() {
    const mine = ++seq
    loading.value = true
    try {
      const v = await load()
      if (mine !== seq) return
      data.value = v
      error.value = null
      missing.value = false
    } catch (e) {
      if (mine !== seq) return
      error.value = e
      missing.value = isMissingOp(e)
      // The session ended (expired, or the user was disabled): back to the login page, and
      // back here after logging in again.
      if (e instanceof ApiError && e.code === 'unauthenticated' && router) {
        forget()
        router.push({ name: 'login', query: { next: router.currentRoute.value.fullPath } })
      }
    } finally {
      if (mine === seq) loading.value = false
    }
  }
  if (immediate) onMounted(reload)
  return { data, loading, error, missing, reload }
}

/**
 * Calls `onEvent` for each engine event while the component is mounted; `refresh`, if given,
 * runs at most once per `gapMs` however many events arrive (a burst of 40 instances is one
 * reload, not 40).
 */
export function useLive(onEvent: (e: EngineEvent) => void, refresh?: () => void, gapMs = 500) {
  let stop: (() => void) | null = null
  let timer: ReturnType<typeof setTimeout> | null = null
  onMounted(() => {
    stop = useBackend().subscribe((e) => {
      onEvent(e)
      if (refresh && !timer) {
        timer = setTimeout(() => {
          timer = null
          refresh()
        }, gapMs)
      }
    })
  })
  onUnmounted(() => {
    stop?.()
    if (timer) clearTimeout(timer)
  })
}
