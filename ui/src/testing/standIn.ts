// A stand-in transport for component tests: every operation goes to `call`, which records or
// answers it (an Error it returns or throws is the engine's refusal); nothing else happens.
//
// Must never: reach a real station; tests that need one are the browser tests (tests/e2e).
import type { Backend } from '../api/backend'

export function standIn(call: (op: string, body: Record<string, unknown>) => unknown): Backend {
  return {
    kind: 'web',
    async call<T>(op: string, body?: unknown) {
      const answer = call(op, (body ?? {}) as Record<string, unknown>)
      if (answer instanceof Error) throw answer
      return answer as T
    },
    subscribe: () => () => {},
    previewUrl: (uid) => `/p/${uid}`,
    fileUrl: (path) => path,
    setToken: () => {},
    setLanguage: () => {},
  }
}
