// Enter moves to the next field, as at a clinic's front desk where the hands stay on the keys:
// within a container, the next text input (or the submit button) after the one Enter was
// pressed in. Text areas keep Enter for a new line; radio groups and switches are left to Tab.
//
// Must never: swallow an Enter that a field needs (a text area, a button, a picked list item).

const FIELDS = 'input:not([type=hidden]):not([type=radio]):not([type=checkbox]):not([disabled]):not([readonly]), button[type=submit]'

/** Focuses the field after `from` among `container`'s fields; whether it moved. */
export function focusNext(container: HTMLElement, from: Element): boolean {
  const fields = Array.from(container.querySelectorAll<HTMLElement>(FIELDS)).filter((el) => el.offsetParent !== null || el === from)
  const at = fields.indexOf(from as HTMLElement)
  const next = at >= 0 ? fields[at + 1] : undefined
  if (!next) return false
  next.focus()
  return true
}

/**
 * A capture-phase keydown handler for a container (`@keydown.capture`): Enter in a text input
 * moves to the next field, before the field's own widget sees it (a date picker would open its
 * panel). An autocomplete's list with a highlighted item keeps its Enter, which picks the item.
 */
export function enterMovesOn(event: KeyboardEvent) {
  const target = event.target as HTMLElement | null
  if (event.key !== 'Enter' || event.isComposing || !target || target.tagName !== 'INPUT') return
  if (target.dataset.enter === 'own') return
  if (target.closest('.el-autocomplete') && document.querySelector('.el-autocomplete-suggestion li.highlighted')) return
  const container = event.currentTarget as HTMLElement
  if (focusNext(container, target)) {
    event.preventDefault()
    event.stopPropagation()
  }
}
