// The exam items a clinic orders most, per modality (the engine's `procedures`, which an admin
// edits on the Settings page), offered while typing the exam item: a technician picks 胸部正位
// instead of typing it. Free text is still allowed.
//
// Must never: refuse an item that is not in the list.

/** The items of `modality` in `lists` containing `typed` (all of them when nothing is typed). */
export function commonProcedures(lists: Record<string, string[]> | undefined, modality: string, typed: string): string[] {
  const items = lists?.[modality] ?? []
  const q = typed.trim()
  return q ? items.filter((i) => i.includes(q)) : items
}
