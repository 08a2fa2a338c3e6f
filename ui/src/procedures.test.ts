import { describe, expect, it } from 'vitest'
import { commonProcedures } from './procedures'

describe('common exam items', () => {
  const lists = { DX: ['胸部正位', '胸部正侧位', '腰椎正侧位'], US: ['腹部超声', '甲状腺超声'], ECG: ['常规十二导联心电图'] }
  it("offers a modality's items, narrowed by what is typed", () => {
    expect(commonProcedures(lists, 'DX', '')).toEqual(lists.DX)
    expect(commonProcedures(lists, 'DX', ' 胸部 ')).toEqual(['胸部正位', '胸部正侧位'])
    expect(commonProcedures(lists, 'US', '甲状腺')).toEqual(['甲状腺超声'])
    // Free text stays possible: an unknown modality or item just has no suggestions.
    expect(commonProcedures(lists, 'MR', '')).toEqual([])
    expect(commonProcedures(lists, 'DX', '足弓')).toEqual([])
    expect(commonProcedures(undefined, 'DX', '')).toEqual([])
  })
})
