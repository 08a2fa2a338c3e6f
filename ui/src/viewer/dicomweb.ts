// The DICOMweb requests the viewer makes (PS3.18), and reading their DICOM JSON answers (PS3.18
// Annex F). QIDO-RS lists a study's series and a patient's studies; WADO-RS gives a series'
// metadata and whole instances (an ECG is read from its Part 10 bytes). Image frames are not
// fetched here: Cornerstone's wadors loader asks for them with the same root and headers
// (`frameImageId`).
//
// Must never: send the headers (they carry the user's token) to any URL but the configured
// root, or guess a value the answer does not hold.

/** Where the viewer reads images from, and what to send with every request. */
export interface DicomWebSource {
  /** e.g. `/dicom-web` on the station's own origin, without a trailing slash. */
  root: string
  headers: Record<string, string>
}

export interface JsonAttribute {
  vr: string
  Value?: unknown[]
  InlineBinary?: string
  BulkDataURI?: string
}
/** One data set in DICOM JSON: keys are 8-hex-digit tags. */
export type DicomJson = Record<string, JsonAttribute | undefined>

export const ACCEPT_JSON = 'application/dicom+json'
export const ACCEPT_INSTANCE = 'multipart/related; type="application/dicom"'
/** What Cornerstone's wadors loader sends for a frame (kept here so the report is one place). */
export const ACCEPT_FRAME = 'multipart/related; type=application/octet-stream; transfer-syntax=*'

export const TAG = {
  StudyDate: '00080020',
  StudyTime: '00080030',
  AccessionNumber: '00080050',
  Modality: '00080060',
  ModalitiesInStudy: '00080061',
  SOPClassUID: '00080016',
  SOPInstanceUID: '00080018',
  StudyDescription: '00081030',
  SeriesDescription: '0008103E',
  RecommendedDisplayFrameRate: '00082144',
  PatientName: '00100010',
  PatientID: '00100020',
  CineRate: '00180040',
  FrameTime: '00181063',
  FrameTimeVector: '00181065',
  ImagerPixelSpacing: '00181164',
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  SeriesNumber: '00200011',
  InstanceNumber: '00200013',
  NumberOfStudyRelatedSeries: '00201206',
  NumberOfSeriesRelatedInstances: '00201209',
  PhotometricInterpretation: '00280004',
  NumberOfFrames: '00280008',
  Rows: '00280010',
  Columns: '00280011',
  PixelSpacing: '00280030',
  WindowCenter: '00281050',
  WindowWidth: '00281051',
  RescaleType: '00281054',
  PixelSpacingCalibrationType: '00280A02',
} as const

/** The values of an attribute (an empty list when absent or empty). */
export function values(ds: DicomJson | undefined, tag: string): unknown[] {
  return ds?.[tag]?.Value ?? []
}

/** The first value as text ('' when absent); a person name gives its readable form. */
export function str(ds: DicomJson | undefined, tag: string): string {
  const v = values(ds, tag)[0]
  if (v === undefined || v === null) return ''
  if (typeof v === 'object') return personNameText(v as Record<string, string>)
  return String(v)
}

/** Numbers of a multi-valued numeric attribute (DS/IS come as numbers or numeric strings). */
export function nums(ds: DicomJson | undefined, tag: string): number[] {
  return values(ds, tag)
    .map((v) => (typeof v === 'number' ? v : Number.parseFloat(String(v))))
    .filter((v) => Number.isFinite(v))
}

export function num(ds: DicomJson | undefined, tag: string): number | undefined {
  return nums(ds, tag)[0]
}

/** 王^小明=WANG^XIAOMING → the ideographic name first, as a Chinese clinic reads it. */
function personNameText(pn: { Alphabetic?: string; Ideographic?: string; Phonetic?: string }): string {
  const pick = pn.Ideographic || pn.Alphabetic || pn.Phonetic || ''
  return pick.replace(/\^+/g, ' ').trim()
}

export class DicomWebError extends Error {
  constructor(
    message: string,
    public status: number,
    public url: string,
  ) {
    super(message)
    this.name = 'DicomWebError'
  }
}

type FetchFn = (url: string, init: { headers: Record<string, string> }) => Promise<Response>

export class DicomWeb {
  constructor(
    readonly source: DicomWebSource,
    private fetchFn: FetchFn = (url, init) => fetch(url, init),
  ) {}

  private async get(path: string, accept: string): Promise<Response> {
    const url = `${this.source.root}${path}`
    let res: Response
    try {
      res = await this.fetchFn(url, { headers: { ...this.source.headers, Accept: accept } })
    } catch (e) {
      throw new DicomWebError(String(e), 0, url)
    }
    if (!res.ok && res.status !== 204) throw new DicomWebError(`HTTP ${res.status}`, res.status, url)
    return res
  }

  private async json(path: string): Promise<DicomJson[]> {
    const res = await this.get(path, ACCEPT_JSON)
    if (res.status === 204) return []
    const body = await res.json()
    return Array.isArray(body) ? (body as DicomJson[]) : []
  }

  /** QIDO-RS: the study's series (PS3.18 10.6), in series-number order. */
  async studySeries(studyUid: string): Promise<DicomJson[]> {
    const list = await this.json(`/studies/${enc(studyUid)}/series?includefield=${TAG.SeriesDescription},${TAG.NumberOfSeriesRelatedInstances}`)
    return list.sort((a, b) => (num(a, TAG.SeriesNumber) ?? 0) - (num(b, TAG.SeriesNumber) ?? 0))
  }

  /** QIDO-RS: one study's own attributes (patient, date), or null when the server has no such study. */
  async study(studyUid: string): Promise<DicomJson | null> {
    const list = await this.json(`/studies?StudyInstanceUID=${enc(studyUid)}&includefield=${TAG.StudyDescription},${TAG.ModalitiesInStudy}`)
    return list[0] ?? null
  }

  /** QIDO-RS: every study of a patient, newest first. */
  async patientStudies(patientId: string): Promise<DicomJson[]> {
    const list = await this.json(`/studies?PatientID=${enc(patientId)}&includefield=${TAG.StudyDescription},${TAG.ModalitiesInStudy},${TAG.NumberOfStudyRelatedSeries}`)
    const key = (s: DicomJson) => `${str(s, TAG.StudyDate)}${str(s, TAG.StudyTime)}`
    return list.sort((a, b) => key(b).localeCompare(key(a)))
  }

  /** WADO-RS: metadata of every instance of a series (PS3.18 10.4, `/metadata`), in instance order. */
  async seriesMetadata(studyUid: string, seriesUid: string): Promise<DicomJson[]> {
    const list = await this.json(`/studies/${enc(studyUid)}/series/${enc(seriesUid)}/metadata`)
    return list.sort((a, b) => (num(a, TAG.InstanceNumber) ?? 0) - (num(b, TAG.InstanceNumber) ?? 0))
  }

  /** WADO-RS: one instance as Part 10 bytes (the first part of the multipart answer). */
  async instance(studyUid: string, seriesUid: string, sopUid: string): Promise<Uint8Array> {
    const res = await this.get(`/studies/${enc(studyUid)}/series/${enc(seriesUid)}/instances/${enc(sopUid)}`, ACCEPT_INSTANCE)
    const bytes = new Uint8Array(await res.arrayBuffer())
    const type = res.headers.get('Content-Type') ?? ''
    const parts = /^multipart\//i.test(type) ? multipartParts(type, bytes) : [bytes]
    if (!parts[0]?.length) throw new DicomWebError('empty answer', res.status, res.url)
    return parts[0]
  }

  /** The image id Cornerstone's wadors loader fetches frame `frame` (1-based) with. */
  frameImageId(studyUid: string, seriesUid: string, sopUid: string, frame: number): string {
    return `wadors:${absolute(this.source.root)}/studies/${enc(studyUid)}/series/${enc(seriesUid)}/instances/${enc(sopUid)}/frames/${frame}`
  }
}

const enc = encodeURIComponent

/** The loader wants an absolute URL; a root like `/dicom-web` is on the page's own origin. */
function absolute(root: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(root)) return root
  const origin = typeof location !== 'undefined' ? location.origin : ''
  return `${origin}${root}`
}

/** The bodies of a multipart/related answer (RFC 2046 5.1), headers stripped. */
export function multipartParts(contentType: string, bytes: Uint8Array): Uint8Array[] {
  const m = /boundary="?([^";]+)"?/i.exec(contentType)
  if (!m) return [bytes]
  const delimiter = ascii(`--${m[1]}`)
  const parts: Uint8Array[] = []
  let at = indexOf(bytes, delimiter, 0)
  while (at >= 0) {
    let start = at + delimiter.length
    // "--" right after the delimiter closes the body.
    if (bytes[start] === 0x2d && bytes[start + 1] === 0x2d) break
    const headersEnd = indexOf(bytes, ascii('\r\n\r\n'), start)
    if (headersEnd < 0) break
    start = headersEnd + 4
    const next = indexOf(bytes, delimiter, start)
    if (next < 0) break
    // The CRLF before the next delimiter belongs to the delimiter.
    let end = next
    if (bytes[end - 2] === 0x0d && bytes[end - 1] === 0x0a) end -= 2
    parts.push(bytes.subarray(start, end))
    at = next
  }
  return parts
}

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0))
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]
  outer: for (let i = hay.indexOf(first, from); i >= 0 && i <= hay.length - needle.length; i = hay.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}
