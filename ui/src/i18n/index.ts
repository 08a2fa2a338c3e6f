// vue-i18n set-up: Chinese first, English switchable; the choice is remembered per browser.
import { createI18n } from 'vue-i18n'
import zhCN from './zh-CN'
import en from './en'

export const LOCALES = ['zh-CN', 'en'] as const
export type Locale = (typeof LOCALES)[number]
const KEY = 'station.locale'

export const messages = { 'zh-CN': zhCN, en }

export function savedLocale(storage: Pick<Storage, 'getItem'> | null): Locale {
  const v = storage?.getItem(KEY)
  return v === 'en' ? 'en' : 'zh-CN'
}

export function saveLocale(storage: Pick<Storage, 'setItem'> | null, l: Locale) {
  storage?.setItem(KEY, l)
}

export function makeI18n(locale: Locale) {
  return createI18n({
    legacy: false,
    locale,
    fallbackLocale: 'zh-CN',
    messages,
  })
}
