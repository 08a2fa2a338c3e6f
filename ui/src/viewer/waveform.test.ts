import { describe, expect, it } from 'vitest'
import { readWaveform, WaveformError } from './waveform'

// A minimal Part 10 writer (Explicit VR Little Endian) for the waveform's own attributes.
type Value = string | number | Uint8Array | Item[]
type Item = Record<number, [string, Value]>
const LONG = new Set(['OB', 'OW', 'SQ', 'UT', 'UN'])

function bytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

function encode(ds: Item): Uint8Array {
  const parts: Uint8Array[] = []
  for (const tag of Object.keys(ds).map(Number).sort((a, b) => a - b)) {
    const [vr, v] = ds[tag]
    let body: Uint8Array
    if (vr === 'SQ') {
      body = bytes(
        ...(v as Item[]).map((item) => {
          const inner = encode(item)
          const h = new DataView(new ArrayBuffer(8))
          h.setUint16(0, 0xfffe, true)
          h.setUint16(2, 0xe000, true)
          h.setUint32(4, inner.length, true)
          return bytes(new Uint8Array(h.buffer), inner)
        }),
      )
    } else if (vr === 'US') {
      body = new Uint8Array(new Uint16Array([v as number]).buffer)
    } else if (vr === 'UL') {
      body = new Uint8Array(new Uint32Array([v as number]).buffer)
    } else if (v instanceof Uint8Array) {
      body = v
    } else {
      const s = String(v)
      body = new TextEncoder().encode(s.length % 2 ? `${s} ` : s)
    }
    const long = LONG.has(vr)
    const h = new DataView(new ArrayBuffer(long ? 12 : 8))
    h.setUint16(0, tag >>> 16, true)
    h.setUint16(2, tag & 0xffff, true)
    h.setUint8(4, vr.charCodeAt(0))
    h.setUint8(5, vr.charCodeAt(1))
    if (long) h.setUint32(8, body.length, true)
    else h.setUint16(6, body.length, true)
    parts.push(new Uint8Array(h.buffer), body)
  }
  return bytes(...parts)
}

function part10(group: Item): Uint8Array {
  const meta = encode({ 0x00020010: ['UI', '1.2.840.10008.1.2.1\0'] })
  const len = encode({ 0x00020000: ['UL', meta.length] })
  return bytes(new Uint8Array(128), new TextEncoder().encode('DICM'), len, meta, encode({ 0x54000100: ['SQ', [group]] }))
}

const channel = (code: string, sensitivity: string, unit = 'uV', extra: Item = {}): Item => ({
  0x003a0208: ['SQ', [{ 0x00080100: ['SH', code], 0x00080102: ['SH', 'SCPECG'] }]],
  0x003a0210: ['DS', sensitivity],
  0x003a0211: ['SQ', [{ 0x00080100: ['SH', unit] }]],
  ...extra,
})

function group(channels: Item[], samples: number[][], interpretation = 'SS'): Item {
  const data = new Int16Array(samples.length * channels.length)
  samples.forEach((row, s) => row.forEach((v, c) => (data[s * channels.length + c] = v)))
  return {
    0x003a0005: ['US', channels.length],
    0x003a0010: ['UL', samples.length],
    0x003a001a: ['DS', '500'],
    0x003a0020: ['SH', 'RHYTHM'],
    0x003a0200: ['SQ', channels],
    0x54001004: ['US', 16],
    0x54001006: ['CS', interpretation],
    0x54001010: ['OW', new Uint8Array(data.buffer)],
  }
}

describe('ECG waveform from DICOM', () => {
  it('scales interleaved samples by sensitivity, correction and baseline into µV, labels leads by SCPECG code', () => {
    const w = readWaveform(
      part10(
        group(
          [channel('5.6.3-9-1', '2.5'), channel('5.6.3-9-2', '0.005', 'mV', { 0x003a0212: ['DS', '2'], 0x003a0213: ['DS', '0.1'] })],
          [
            [100, -10],
            [-4, 20],
          ],
        ),
      ),
    )
    expect(w.sampling_hz).toBe(500)
    expect(w.label).toBe('RHYTHM')
    expect(w.leads.map((l) => l.label)).toEqual(['I', 'II'])
    expect(w.leads[0].microvolts).toEqual([250, -10])
    // (−10 × 0.005 × 2 + 0.1) mV = 0 µV; (20 × 0.005 × 2 + 0.1) mV = 300 µV.
    expect(w.leads[1].microvolts[0]).toBeCloseTo(0, 9)
    expect(w.leads[1].microvolts[1]).toBeCloseTo(300, 9)
  })

  it('refuses to guess: no voltage unit, unsupported samples, missing sequence', () => {
    expect(() => readWaveform(part10(group([channel('5.6.3-9-1', '1', 'mmHg')], [[1]])))).toThrow(/not a voltage/)
    expect(() => readWaveform(part10(group([channel('5.6.3-9-1', '1')], [[1]], 'MB')))).toThrow(WaveformError)
    expect(() => readWaveform(new Uint8Array(10))).toThrow(WaveformError)
  })
})
