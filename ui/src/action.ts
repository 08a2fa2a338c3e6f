// Running an operation that changes something, from a screen: which one is under way (its
// button spins), what it did said in a message, and a refusal said in the user's language with
// the engine's detail. Every screen's buttons go through this one composable.
//
// Must never: let a failure pass unsaid (a caller that handles one itself says so), or report
// success before the engine answered.
import { h, ref } from 'vue'
import { useI18n } from 'vue-i18n'
import { ElMessage } from 'element-plus'
import { ApiError } from './api/backend'
import { errorText } from './session'
import ProblemText from './components/ProblemText.vue'

type Translate = (k: string, p?: Record<string, unknown>) => string

/**
 * Says a failed call in a message: the sentence in the user's language and, when the engine
 * gave its own words for it, those behind the same 详细信息 toggle as hub errors (kept open
 * longer, and closable, so there is time to read them).
 */
export function showError(e: unknown, t: Translate) {
  const text = errorText(e, t)
  const detail = e instanceof ApiError ? e.detail : undefined
  if (!detail) return ElMessage.error(text)
  return ElMessage({ type: 'error', message: h(ProblemText, { text, detail }), duration: 15_000, showClose: true })
}

export interface ActionOptions<T> {
  /** Said when it worked: a text, or one made from the engine's answer. */
  done?: string | ((answer: T) => string)
  /** Runs after it worked, while still under way: typically reloading what the screen shows. */
  after?: (answer: T) => unknown
  /** Takes a failure itself; returns true when it did, else the engine's message is shown. */
  failed?: (e: unknown) => boolean
}

export function useAction() {
  const { t } = useI18n()
  /** The key of the action under way, '' when none. */
  const busy = ref('')

  /** Runs `work` as action `key`; its answer, or undefined when it failed. */
  async function act<T>(key: string, work: () => Promise<T>, options: ActionOptions<T> = {}): Promise<T | undefined> {
    busy.value = key
    try {
      const answer = await work()
      const done = typeof options.done === 'function' ? options.done(answer) : options.done
      if (done) ElMessage.success(done)
      await options.after?.(answer)
      return answer
    } catch (e) {
      if (!options.failed?.(e)) showError(e, t)
      return undefined
    } finally {
      if (busy.value === key) busy.value = ''
    }
  }

  return { busy, act }
}
