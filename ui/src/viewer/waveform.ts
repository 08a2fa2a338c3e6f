// Reading an ECG's samples from its Part 10 bytes (PS3.3 C.10.9 Waveform module), as the engine's
// dicom/waveform.rs does for `waveform_get`, so the viewer draws the same leads from DICOMweb:
// the first multiplex group, each channel scaled by sensitivity × correction + baseline into µV.
//
// Must never: guess a scale (a channel without a voltage sensitivity is an error), or read
// anything but the Waveform Sequence's first multiplex group.
import { parseDicom, type DataSet } from 'dicom-parser'

export interface Waveform {
  sampling_hz: number
  /** Multiplex Group Label, e.g. "RHYTHM". */
  label: string
  leads: { label: string; code: string; microvolts: number[] }[]
}

export class WaveformError extends Error {
  name = 'WaveformError'
}

/** The twelve standard leads' SCPECG codes (PS3.16 CID 3001), for channels without a label. */
const SCPECG: Record<string, string> = {
  '5.6.3-9-1': 'I',
  '5.6.3-9-2': 'II',
  '5.6.3-9-61': 'III',
  '5.6.3-9-62': 'aVR',
  '5.6.3-9-63': 'aVL',
  '5.6.3-9-64': 'aVF',
  '5.6.3-9-3': 'V1',
  '5.6.3-9-4': 'V2',
  '5.6.3-9-5': 'V3',
  '5.6.3-9-6': 'V4',
  '5.6.3-9-7': 'V5',
  '5.6.3-9-8': 'V6',
}
const MICROVOLTS_PER: Record<string, number> = { uV: 1, µV: 1, mV: 1000, V: 1_000_000 }

const text = (ds: DataSet | undefined, tag: string) => (ds?.string(tag) ?? '').trim()
const first = (ds: DataSet | undefined, tag: string): DataSet | undefined => ds?.elements[tag]?.items?.[0]?.dataSet
const float = (ds: DataSet, tag: string): number | undefined => {
  const v = ds.floatString(tag)
  return v === undefined || Number.isNaN(v) ? undefined : v
}

export function readWaveform(part10: Uint8Array): Waveform {
  let ds: DataSet
  try {
    ds = parseDicom(part10)
  } catch (e) {
    throw new WaveformError(`cannot read the object: ${e instanceof Error ? e.message : String(e)}`)
  }
  const group = first(ds, 'x54000100')
  if (!group) throw new WaveformError('no Waveform Sequence (5400,0100)')
  const channels = group.uint16('x003a0005') ?? 0
  const samples = group.uint32('x003a0010') ?? 0
  const hz = float(group, 'x003a001a')
  if (!hz || hz <= 0) throw new WaveformError('no Sampling Frequency')
  const bits = group.uint16('x54001004') ?? 0
  const interpretation = text(group, 'x54001006')
  const definitions = group.elements['x003a0200']?.items ?? []
  if (channels === 0 || definitions.length !== channels) throw new WaveformError(`${channels} channels declared, ${definitions.length} defined`)
  const data = group.elements['x54001010']
  if (!data) throw new WaveformError('no Waveform Data')
  const width = bits / 8
  const view = new DataView(group.byteArray.buffer, group.byteArray.byteOffset + data.dataOffset, data.length)
  const decoders: Record<string, (at: number) => number> = {
    '16SS': (at: number) => view.getInt16(at, true),
    '16US': (at: number) => view.getUint16(at, true),
    '8SB': (at: number) => view.getInt8(at),
    '8UB': (at: number) => view.getUint8(at),
  }
  const decode = decoders[`${bits}${interpretation}`]
  if (!decode) throw new WaveformError(`${bits}-bit ${JSON.stringify(interpretation)} samples are not supported`)
  if (data.length < samples * channels * width) throw new WaveformError(`Waveform Data holds ${data.length} bytes, ${samples * channels * width} expected`)
  const leads = definitions.map((item, c) => {
    const def = item.dataSet!
    const source = first(def, 'x003a0208')
    const code = text(source, 'x00080100')
    const label = text(def, 'x003a0203') || SCPECG[code] || text(source, 'x00080104') || `channel ${c + 1}`
    const sensitivity = float(def, 'x003a0210')
    if (sensitivity === undefined) throw new WaveformError(`lead ${label}: no Channel Sensitivity`)
    const unit = text(first(def, 'x003a0211'), 'x00080100')
    const per = MICROVOLTS_PER[unit]
    if (per === undefined) throw new WaveformError(`lead ${label}: sensitivity unit ${JSON.stringify(unit)} is not a voltage`)
    const correction = float(def, 'x003a0212') ?? 1
    const baseline = float(def, 'x003a0213') ?? 0
    const microvolts = new Array<number>(samples)
    for (let s = 0; s < samples; s++) microvolts[s] = (decode((s * channels + c) * width) * sensitivity * correction + baseline) * per
    return { label, code, microvolts }
  })
  return { sampling_hz: hz, label: text(group, 'x003a0020'), leads }
}
