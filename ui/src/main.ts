import { createApp } from 'vue'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import App from './App.vue'
import { createBackend, isAttachedWindow } from './api/backend'
import { makeI18n, savedLocale } from './i18n'
import { makeRouter } from './router'
import { restore, setBackend } from './session'
import { feedShell } from './shellFeed'
import './style.css'

async function start() {
  const backend = await createBackend(window)
  const locale = savedLocale(window.localStorage)
  backend.setLanguage(locale)
  setBackend(backend)
  await restore(window.sessionStorage)
  const app = createApp(App)
  app.use(makeI18n(locale))
  app.use(ElementPlus)
  app.use(makeRouter())
  app.mount('#app')
  if (isAttachedWindow(window)) {
    const core = await import('@tauri-apps/api/core')
    feedShell(backend, core.invoke)
  }
}

start()
