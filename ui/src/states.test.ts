import { describe, expect, it } from 'vitest'
import zh from './i18n/zh-CN'
import { STUDY_STATES, sendActions, sendChip, stateChip, studyActions, unassignedReason } from './states'

describe('state chips', () => {
  it('shows every lifecycle state by its Chinese name', () => {
    const expected: Record<string, string> = {
      receiving: '接收中',
      complete: '已完成',
      unassigned: '未分配',
      ready: '待发送',
      sending: '发送中',
      delivered: '已送达',
      reported: '已出报告',
      failed: '失败',
      held: '已暂停',
    }
    expect([...STUDY_STATES].sort()).toEqual(Object.keys(expected).sort())
    for (const s of STUDY_STATES) {
      const chip = stateChip(s)
      const [group, key] = chip.key!.split('.')
      expect((zh as unknown as Record<string, Record<string, string>>)[group][key]).toBe(expected[s])
    }
  })

  it('failure is red, delivery green, a person-paused study orange', () => {
    expect(stateChip('failed').type).toBe('danger')
    expect(stateChip('delivered').type).toBe('success')
    expect(stateChip('reported').type).toBe('success')
    expect(stateChip('held').type).toBe('warning')
  })

  it('an unknown state from a newer engine is shown as it is', () => {
    expect(stateChip('archived')).toEqual({ key: null, raw: 'archived', type: 'info' })
    expect(sendChip('queued').key).toBe('send.queued')
    expect(sendChip('weird').key).toBeNull()
  })

  it('offers retry only for failures and release only for held studies', () => {
    expect(studyActions('failed')).toEqual(['retry', 'hold'])
    expect(studyActions('held')).toEqual(['release'])
    expect(studyActions('sending')).toEqual(['hold'])
    expect(studyActions('delivered')).toEqual([])
    expect(studyActions('unassigned')).toEqual([])
  })

  it('tells a study held to check its patient from one with no order', () => {
    expect(unassignedReason({ order_ref: 7 })).toBe('checkPatient')
    expect(unassignedReason({ order_ref: null })).toBe('noOrder')
    expect(unassignedReason({})).toBe('noOrder')
  })
})

describe('send queue actions', () => {
  it('holds what is still to go, releases what is held, retries what failed', () => {
    expect(sendActions('queued')).toEqual(['hold'])
    expect(sendActions('sending')).toEqual(['hold'])
    expect(sendActions('failed')).toEqual(['retry', 'hold'])
    expect(sendActions('held')).toEqual(['release'])
    expect(sendActions('delivered')).toEqual([])
    expect(sendActions('something-new')).toEqual([])
  })
})
