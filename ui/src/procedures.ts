// The exam items a grassroots clinic orders most, per modality, offered while typing the exam
// item (free text is still allowed): a technician picks 胸部正位 instead of typing it.
//
// Must never: refuse an item that is not in the list.

const COMMON: Record<string, string[]> = {
  DX: ['胸部正位', '胸部正侧位', '腰椎正侧位', '颈椎正侧位', '膝关节正侧位', '腹部立位', '骨盆正位', '手正斜位', '足正斜位'],
  CR: ['胸部正位', '胸部正侧位', '腰椎正侧位', '颈椎正侧位', '膝关节正侧位', '腹部立位'],
  US: ['腹部超声', '肝胆胰脾超声', '泌尿系超声', '甲状腺超声', '乳腺超声', '心脏超声', '妇科超声', '产科超声', '颈部血管超声'],
  ECG: ['常规十二导联心电图', '动态心电图', '运动负荷心电图'],
}

/** The common items of `modality` containing `typed` (all of them when nothing is typed). */
export function commonProcedures(modality: string, typed: string): string[] {
  const items = COMMON[modality] ?? []
  const q = typed.trim()
  return q ? items.filter((i) => i.includes(q)) : items
}
