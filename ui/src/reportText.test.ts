import { describe, expect, it } from 'vitest'
import { reportBlocks } from './reportText'

describe('report text as blocks', () => {
  it('reads headings, concept：value lines and free text with their depth', () => {
    const text = '【胸部正位片】\n  检查所见：双肺纹理清晰。\n  印象：心肺未见异常：建议随访\n  Free text line'
    expect(reportBlocks(text)).toEqual([
      { kind: 'heading', depth: 0, text: '胸部正位片' },
      { kind: 'field', depth: 1, label: '检查所见', value: '双肺纹理清晰。' },
      { kind: 'field', depth: 1, label: '印象', value: '心肺未见异常：建议随访' },
      { kind: 'text', depth: 1, text: 'Free text line' },
    ])
  })
  it('keeps every non-empty line', () => {
    const lines = ['a', '', 'b：c', '【d】']
    expect(reportBlocks(lines.join('\n'))).toHaveLength(3)
  })
})
