// DICOM files the browser tests need beyond the demo day, made with DCMTK as a hub or a device
// would: a final Enhanced SR the hub's doctor signed (dump2dcm), and a device's images re-sent
// with another accession number and patient name (dcmodify).
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { randomInt } from 'node:crypto'

export const uid = () => `2.25.${randomInt(1, 2 ** 47)}${randomInt(1, 2 ** 47)}`

const code = (value, scheme, meaning) => [
  '(fffe,e000) na (Item with undefined length)',
  `(0008,0100) SH [${value}]`,
  `(0008,0102) SH [${scheme}]`,
  `(0008,0104) LO [${meaning}]`,
  '(fffe,e00d) na (ItemDelimitationItem)',
]
const seq = (tag, items) => [`(${tag}) SQ (Sequence with undefined length)`, ...items.flat(), '(fffe,e0dd) na (SequenceDelimitationItem)']
const item = (...lines) => ['(fffe,e000) na (Item with undefined length)', ...lines.flat(), '(fffe,e00d) na (ItemDelimitationItem)']
const text = (name, value) =>
  item('(0040,a010) CS [CONTAINS]', '(0040,a040) CS [TEXT]', seq('0040,a043', [code(...name)]), `(0040,a160) UT [${value}]`)
const container = (name, children) =>
  item('(0040,a010) CS [CONTAINS]', '(0040,a040) CS [CONTAINER]', '(0040,a050) CS [SEPARATE]', seq('0040,a043', [code(...name)]), seq('0040,a730', children))

/** A verified (final) Enhanced SR in `studyUid`: findings, impression, the signing doctor. */
export function finalSr(path, { studyUid, patientId, patientName, findings, conclusion, doctor }) {
  const dump = [
    '(0002,0010) UI =LittleEndianExplicit',
    '(0008,0005) CS [ISO_IR 192]',
    '(0008,0016) UI =EnhancedSRStorage',
    `(0008,0018) UI [${uid()}]`,
    '(0008,0020) DA [20261130]',
    '(0008,0023) DA [20261130]',
    '(0008,0033) TM [090000]',
    '(0008,0060) CS [SR]',
    `(0010,0010) PN [${patientName}]`,
    `(0010,0020) LO [${patientId}]`,
    `(0020,000d) UI [${studyUid}]`,
    `(0020,000e) UI [${uid()}]`,
    '(0040,a040) CS [CONTAINER]',
    '(0040,a050) CS [SEPARATE]',
    seq('0040,a043', [code('18748-4', 'LN', '影像诊断报告')]),
    '(0040,a491) CS [COMPLETE]',
    '(0040,a493) CS [VERIFIED]',
    seq('0040,a073', [item('(0040,a027) LO [区域影像诊断中心]', '(0040,a030) DT [20261130090000]', `(0040,a075) PN [${doctor}]`)]),
    seq('0040,a730', [
      container(['121070', 'DCM', '检查所见'], [text(['121071', 'DCM', '所见'], findings)]),
      container(['121072', 'DCM', '诊断意见'], [text(['121073', 'DCM', '结论'], conclusion)]),
    ]),
  ].flat()
  writeFileSync(`${path}.dump`, dump.join('\n') + '\n')
  execFileSync('/usr/bin/dump2dcm', ['-q', `${path}.dump`, path], { timeout: 30_000 })
  return path
}

/**
 * Copies a device's files into `dir` as one new study with `changes` ({accession, patientName,
 * patientId}), the way a technician's typing at the device would differ from the registration.
 * Series and instances get new UIDs too, so the copy is new even where the original was sent.
 */
export function restudy(files, dir, { accession, patientName, patientId }) {
  mkdirSync(dir, { recursive: true })
  const studyUid = uid()
  const series = new Map()
  const out = files.map((f) => {
    const copy = join(dir, basename(f))
    copyFileSync(f, copy)
    const dumped = execFileSync('/usr/bin/dcmdump', ['+P', '0020,000e', f], { encoding: 'utf8', timeout: 30_000 })
    const original = /\[([^\]]*)\]/.exec(dumped)?.[1] ?? f
    if (!series.has(original)) series.set(original, uid())
    const edits = [`(0020,000d)=${studyUid}`, `(0020,000e)=${series.get(original)}`, `(0008,0018)=${uid()}`, `(0008,0050)=${accession ?? ''}`]
    if (patientName) edits.push(`(0010,0010)=${patientName}`)
    if (patientId) edits.push(`(0010,0020)=${patientId}`)
    execFileSync('/usr/bin/dcmodify', ['-nb', '-gin', ...edits.flatMap((e) => ['-m', e]), copy], { timeout: 30_000 })
    return copy
  })
  return { studyUid, files: out }
}

/**
 * The hub's PDF report for the study of the DICOM file `from`, wrapped as an Encapsulated PDF
 * by DCMTK's pdf2dcm (patient and study copied from `from`), titled `title`.
 */
export function encapsulatedPdf(pdf, path, { from, title }) {
  execFileSync(
    '/usr/bin/pdf2dcm',
    ['-q', '+st', from, '+t', title, '-k', '(0008,0005)=ISO_IR 192', pdf, path],
    { timeout: 30_000 },
  )
  return path
}
