// DICOM files for the viewer's browser tests and benchmark, written byte by byte (PS3.10 Part 10,
// Explicit VR Little Endian, PS3.5 7.1.2) so every value the test checks is known exactly: a CR
// radiograph (MONOCHROME1) with Pixel Spacing and two marks a known distance apart, an
// ultrasound cine whose frames differ, a resting ECG that records eight leads (I, II, V1–V6,
// as many carts do) and a DX radiograph of about 10 MB.
import { writeFileSync } from 'node:fs'
import { randomInt } from 'node:crypto'

export const uid = () => `2.25.${randomInt(1, 2 ** 47)}${randomInt(1, 2 ** 47)}`

// VRs whose explicit-VR header has a 4-byte length (PS3.5 Table 7.1-1).
const LONG = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV'])

function text(vr, s) {
  const b = Buffer.from(String(s), 'utf8')
  if (b.length % 2 === 0) return b
  return Buffer.concat([b, Buffer.from([vr === 'UI' ? 0 : 0x20])])
}

function u16(...v) {
  const b = Buffer.alloc(2 * v.length)
  v.forEach((x, i) => b.writeUInt16LE(x, 2 * i))
  return b
}

function header(tag, vr, len) {
  const long = LONG.has(vr)
  const b = Buffer.alloc(long ? 12 : 8)
  b.writeUInt16LE(tag >>> 16, 0)
  b.writeUInt16LE(tag & 0xffff, 2)
  b.write(vr, 4, 'latin1')
  if (long) b.writeUInt32LE(len, 8)
  else b.writeUInt16LE(len, 6)
  return b
}

/**
 * A data set from `{tag: [vr, value]}`: strings for text VRs, numbers or arrays for US, Buffers
 * for binary VRs, arrays of data sets (objects of the same shape) for SQ.
 */
export function encode(ds) {
  const parts = []
  for (const tag of Object.keys(ds).map(Number).sort((a, b) => a - b)) {
    const [vr, v] = ds[tag]
    let body
    if (vr === 'SQ') {
      const items = v.map((item) => {
        const inner = encode(item)
        const h = Buffer.alloc(8)
        h.writeUInt16LE(0xfffe, 0)
        h.writeUInt16LE(0xe000, 2)
        h.writeUInt32LE(inner.length, 4)
        return Buffer.concat([h, inner])
      })
      body = Buffer.concat(items)
    } else if (vr === 'US') body = u16(...[v].flat())
    else if (Buffer.isBuffer(v)) body = v.length % 2 ? Buffer.concat([v, Buffer.alloc(1)]) : v
    else body = text(vr, v)
    parts.push(header(tag, vr, body.length), body)
  }
  return Buffer.concat(parts)
}

/** Writes a Part 10 file: preamble, DICM, File Meta Information, then the data set. */
export function writePart10(path, ds) {
  const sopClass = ds[0x00080016][1]
  const sopInstance = ds[0x00080018][1]
  const metaBody = encode({
    0x00020001: ['OB', Buffer.from([0, 1])],
    0x00020002: ['UI', sopClass],
    0x00020003: ['UI', sopInstance],
    0x00020010: ['UI', '1.2.840.10008.1.2.1'],
    0x00020012: ['UI', '1.2.826.0.1.3680043.10.1447.1'],
  })
  const groupLength = Buffer.concat([header(0x00020000, 'UL', 4), Buffer.alloc(4)])
  groupLength.writeUInt32LE(metaBody.length, 8)
  writeFileSync(path, Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), groupLength, metaBody, encode(ds)]))
  return path
}

function common({ studyUid, seriesUid, sopClass, modality, patient, description, seriesNumber = 1, studyDate = '20261201' }) {
  return {
    0x00080005: ['CS', 'ISO_IR 192'],
    0x00080016: ['UI', sopClass],
    0x00080018: ['UI', uid()],
    0x00080020: ['DA', studyDate],
    0x00080030: ['TM', '093000'],
    0x00080050: ['SH', ''],
    0x00080023: ['DA', studyDate],
    0x00080033: ['TM', '093000'],
    0x00080060: ['CS', modality],
    0x00080070: ['LO', 'Station viewer tests'],
    0x00080090: ['PN', ''],
    0x00081030: ['LO', description],
    0x0008103e: ['LO', description],
    0x00100010: ['PN', patient.name],
    0x00100020: ['LO', patient.id],
    0x00100030: ['DA', '19600101'],
    0x00100040: ['CS', 'M'],
    0x0020000d: ['UI', studyUid],
    0x0020000e: ['UI', seriesUid],
    0x00200010: ['SH', '1'],
    0x00200011: ['IS', String(seriesNumber)],
    0x00200013: ['IS', '1'],
  }
}

/** Image Pixel and VOI LUT attributes of a 12-in-16-bit greyscale image, full-range window. */
function grey12(rows, cols, photometric, px) {
  return {
    0x00280002: ['US', 1],
    0x00280004: ['CS', photometric],
    0x00280010: ['US', rows],
    0x00280011: ['US', cols],
    0x00280100: ['US', 16],
    0x00280101: ['US', 12],
    0x00280102: ['US', 11],
    0x00280103: ['US', 0],
    0x00281050: ['DS', '2048'],
    0x00281051: ['DS', '4096'],
    0x00281052: ['DS', '0'],
    0x00281053: ['DS', '1'],
    0x7fe00010: ['OW', px],
  }
}

/** Geometry of the CR test image: two marks exactly `MARK_MM` apart along one row. */
export const CR = {
  rows: 1000,
  cols: 1200,
  spacingMm: 0.125,
  markRow: 500,
  markCols: [200, 1000],
  markRadius: 7,
  markMm: 100,
  /** Stored value of the marks (MONOCHROME1: the highest value shows darkest). */
  markValue: 4095,
}

/**
 * A CR chest-size radiograph, MONOCHROME1, 12 bits in 16, Pixel Spacing 0.125 mm: a background
 * that grows brighter-in-value downwards (so it shows lighter at the top), and two round marks
 * 800 pixels = 100 mm apart.
 */
export function crImage(path, study) {
  const { rows, cols } = CR
  const px = Buffer.alloc(rows * cols * 2)
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      let v = 1000 + Math.round((1000 * y) / rows) + ((x * 7 + y * 13) % 17)
      for (const mx of CR.markCols) {
        const dx = x - mx
        const dy = y - CR.markRow
        if (dx * dx + dy * dy <= CR.markRadius * CR.markRadius) v = CR.markValue
      }
      px.writeUInt16LE(v, 2 * (y * cols + x))
    }
  }
  const ds = {
    ...common({ ...study, sopClass: '1.2.840.10008.5.1.4.1.1.1', modality: 'CR', description: study.description ?? '胸部 后前位' }),
    0x00180015: ['CS', 'CHEST'],
    0x00200020: ['CS', ''],
    0x00281054: ['LO', 'US'],
    0x00185101: ['CS', 'PA'],
    0x00280030: ['DS', `${CR.spacingMm}\\${CR.spacingMm}`],
    ...grey12(rows, cols, 'MONOCHROME1', px),
  }
  return writePart10(path, ds)
}

export const CINE = { rows: 120, cols: 160, frames: 30, frameTimeMs: 40 }

/** An ultrasound cine, MONOCHROME2 8-bit: a bright bar that moves right by 5 columns a frame. */
export function usCine(path, study) {
  const { rows, cols, frames } = CINE
  const px = Buffer.alloc(rows * cols * frames)
  for (let f = 0; f < frames; f++) {
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < cols; x++) {
        const bar = x >= 5 * f && x < 5 * f + 6
        px[f * rows * cols + y * cols + x] = bar ? 250 : 30 + ((x + y) % 40)
      }
    }
  }
  const ds = {
    ...common({ ...study, sopClass: '1.2.840.10008.5.1.4.1.1.3.1', modality: 'US', description: study.description ?? '心脏 动态' }),
    0x00080008: ['CS', 'ORIGINAL\\PRIMARY'],
    0x00200020: ['CS', ''],
    0x00180040: ['IS', String(Math.round(1000 / CINE.frameTimeMs))],
    0x00181063: ['DS', String(CINE.frameTimeMs)],
    0x00280002: ['US', 1],
    0x00280004: ['CS', 'MONOCHROME2'],
    0x00280008: ['IS', String(frames)],
    0x00280009: ['AT', Buffer.from([0x18, 0x00, 0x63, 0x10])],
    0x00280010: ['US', rows],
    0x00280011: ['US', cols],
    0x00280100: ['US', 8],
    0x00280101: ['US', 8],
    0x00280102: ['US', 7],
    0x00280103: ['US', 0],
    0x7fe00010: ['OB', px],
  }
  return writePart10(path, ds)
}

export const ECG = { hz: 500, seconds: 10, rrMs: 1000, recorded: ['I', 'II', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'] }
// SCPECG lead codes (PS3.16 CID 3001).
const SCPECG = { I: '5.6.3-9-1', II: '5.6.3-9-2', V1: '5.6.3-9-3', V2: '5.6.3-9-4', V3: '5.6.3-9-5', V4: '5.6.3-9-6', V5: '5.6.3-9-7', V6: '5.6.3-9-8' }

/** One beat's shape in µV at `t` seconds after its R peak, scaled per lead. */
function beat(t, r) {
  const g = (mu, sigma, a) => a * Math.exp(-((t - mu) ** 2) / (2 * sigma * sigma))
  return g(-0.16, 0.025, 0.15 * r) + g(-0.02, 0.008, -0.1 * r) + g(0, 0.01, r) + g(0.025, 0.008, -0.25 * r) + g(0.25, 0.04, 0.3 * r)
}

/**
 * A 12-lead ECG object that records eight leads at 500 Hz for 10 s, 60 beats a minute (R peaks
 * at 0.5 s, 1.5 s, …), 2.5 µV per unit: the viewer must derive III, aVR, aVL and aVF.
 */
export function ecg(path, study) {
  const { hz, seconds } = ECG
  const n = hz * seconds
  const rAmp = { I: 800, II: 1200, V1: -600, V2: 400, V3: 900, V4: 1500, V5: 1300, V6: 1000 }
  const data = Buffer.alloc(n * ECG.recorded.length * 2)
  for (let i = 0; i < n; i++) {
    const t = i / hz
    const sinceR = ((t - 0.5 + ECG.rrMs / 2000) % (ECG.rrMs / 1000)) - ECG.rrMs / 2000
    ECG.recorded.forEach((lead, c) => {
      const uv = beat(sinceR, rAmp[lead])
      data.writeInt16LE(Math.round(uv / 2.5), 2 * (i * ECG.recorded.length + c))
    })
  }
  const channel = (lead) => ({
    0x003a0208: ['SQ', [{ 0x00080100: ['SH', SCPECG[lead]], 0x00080102: ['SH', 'SCPECG'], 0x00080104: ['LO', `Lead ${lead}`] }]],
    0x003a0210: ['DS', '2.5'],
    0x003a0211: ['SQ', [{ 0x00080100: ['SH', 'uV'], 0x00080102: ['SH', 'UCUM'], 0x00080104: ['LO', 'microvolt'] }]],
    0x003a0212: ['DS', '1'],
    0x003a0213: ['DS', '0'],
    0x003a021a: ['US', 16],
  })
  const ds = {
    ...common({ ...study, sopClass: '1.2.840.10008.5.1.4.1.1.9.1.1', modality: 'ECG', description: study.description ?? '静息心电图' }),
    0x0008002a: ['DT', `${study.studyDate ?? '20261201'}093000`],
    0x54000100: [
      'SQ',
      [
        {
          0x003a0004: ['CS', 'ORIGINAL'],
          0x003a0005: ['US', ECG.recorded.length],
          0x003a0010: ['UL', (() => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b })()],
          0x003a001a: ['DS', String(hz)],
          0x003a0020: ['SH', 'RHYTHM'],
          0x003a0200: ['SQ', ECG.recorded.map(channel)],
          0x54001004: ['US', 16],
          0x54001006: ['CS', 'SS'],
          0x54001010: ['OW', data],
        },
      ],
    ],
  }
  return writePart10(path, ds)
}

/** A DX radiograph of 2560 × 2048 × 16 bits (10 MB of pixels) for the time-to-first-image bench. */
export function largeDx(path, study) {
  const rows = 2560
  const cols = 2048
  const px = Buffer.alloc(rows * cols * 2)
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const dx = (x - cols / 2) / cols
      const dy = (y - rows / 2) / rows
      px.writeUInt16LE(Math.min(4095, Math.round(600 + 2400 * Math.exp(-8 * (dx * dx + dy * dy)) + ((x * 31 + y * 17) % 97))), 2 * (y * cols + x))
    }
  }
  const ds = {
    ...common({ ...study, sopClass: '1.2.840.10008.5.1.4.1.1.1.1', modality: 'DX', description: study.description ?? '胸部 DR' }),
    0x00080068: ['CS', 'FOR PRESENTATION'],
    0x00200020: ['CS', ''],
    0x00200060: ['CS', ''],
    0x00181164: ['DS', '0.139\\0.139'],
    ...grey12(rows, cols, 'MONOCHROME2', px),
  }
  return writePart10(path, ds)
}
