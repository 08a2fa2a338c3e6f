import { describe, expect, it } from 'vitest'
import { commonProcedures } from './procedures'

describe('common exam items', () => {
  it('offers a modality\'s items, narrowed by what is typed', () => {
    expect(commonProcedures('DX', '')).toContain('胸部正位')
    expect(commonProcedures('DX', '胸部')).toEqual(['胸部正位', '胸部正侧位'])
    expect(commonProcedures('US', '超声').every((i) => i.includes('超声'))).toBe(true)
    expect(commonProcedures('ECG', '')).toContain('常规十二导联心电图')
    // Free text stays possible: an unknown modality or item just has no suggestions.
    expect(commonProcedures('MR', '')).toEqual([])
    expect(commonProcedures('DX', '足弓')).toEqual([])
  })
})
