// The one place that talks to Cornerstone3D: set-up once per page (rendering core, the DICOM
// image loader with the headers every frame request carries, the tools), one rendering engine
// and tool group per open viewer, and the operations the toolbar offers on a stack viewport.
// Images arrive by WADO-RS through the loader's wadors scheme (dicomweb.ts names the URLs).
//
// The loader decodes in a module web worker and loads codecs as WebAssembly; Vite bundles both
// into the app's own assets, so they load from tauri://localhost in the desktop window and
// from the station in a LAN browser. Without WebGL, Cornerstone renders on the CPU.
//
// Must never: know where images come from beyond the source it is given, or keep an image's
// annotations when the viewer closes (they are not saved anywhere).
import {
  cache,
  Enums as CoreEnums,
  eventTarget,
  imageLoader,
  init as coreInit,
  RenderingEngine,
  utilities as coreUtils,
  type Types,
} from '@cornerstonejs/core'
import {
  addTool,
  AngleTool,
  annotation,
  Enums as ToolEnums,
  init as toolsInit,
  LengthTool,
  PanTool,
  StackScrollTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  type Types as ToolTypes,
} from '@cornerstonejs/tools'
import dicomImageLoader from '@cornerstonejs/dicom-image-loader'
import type { DicomJson } from './dicomweb'
import { angle, length, oneToOneParallelScale, spacingOf, type Point, type Spacing } from './measure'
import { percentileRange, presetVoi, rangeToVoi, voiToRange, type ImageFacts, type PresetName, type Voi } from './presets'
import { num, str, TAG } from './dicomweb'

export type ToolName = 'wl' | 'pan' | 'zoom' | 'length' | 'angle'
const TOOL: Record<ToolName, string> = {
  wl: WindowLevelTool.toolName,
  pan: PanTool.toolName,
  zoom: ZoomTool.toolName,
  length: LengthTool.toolName,
  angle: AngleTool.toolName,
}

let headers: Record<string, string> = {}
let started = false

/** Sets Cornerstone up (once) and the headers image requests carry from now on. */
export function startCornerstone(requestHeaders: Record<string, string>) {
  headers = { ...requestHeaders }
  if (started) return
  coreInit()
  // Decoded images are kept for going back and forth; a clinic PC may have 4 GB in all.
  cache.setMaxCacheSize(768 * 1024 * 1024)
  dicomImageLoader.init({
    // Two cores in a clinic PC: one decoder worker leaves the other for the page.
    maxWebWorkers: Math.max(1, Math.min(2, Math.floor((navigator.hardwareConcurrency || 2) / 2))),
    beforeSend: () => ({ ...headers }),
  })
  toolsInit()
  for (const tool of [WindowLevelTool, PanTool, ZoomTool, StackScrollTool, LengthTool, AngleTool]) addTool(tool)
  started = true
}

/** What an image's measurements are in, registered when its series loads. */
const facts = new Map<string, { spacing: Spacing; meta: DicomJson }>()

export function registerImage(imageId: string, frame1ImageId: string, meta: DicomJson) {
  // The loader finds a multi-frame instance's metadata under its first frame's id.
  if (imageId === frame1ImageId) dicomImageLoader.wadors.metaDataManager.add(imageId, meta as never)
  facts.set(imageId, { spacing: spacingOf(meta), meta })
}

export function spacingFor(imageId: string | undefined): Spacing | undefined {
  return imageId ? facts.get(imageId)?.spacing : undefined
}

/** A finished measurement, in the image's own terms. */
export interface Measurement {
  uid: string
  kind: 'length' | 'angle'
  imageId: string
  /** mm (or px when the spacing source is `none`) for a length, degrees for an angle. */
  value: number
  spacing: Spacing
}

function imageIdOfTarget(targetId: string): string {
  return targetId.startsWith('imageId:') ? targetId.slice('imageId:'.length) : targetId
}

function imagePoints(imageId: string, world: Types.Point3[]): Point[] {
  return world.map((w) => coreUtils.worldToImageCoords(imageId, w) as Point)
}

/** Our own numbers for an annotation, or null while it is being drawn. */
export function measure(a: ToolTypes.Annotation): Measurement | null {
  const imageId = a.metadata?.referencedImageId
  const spacing = spacingFor(imageId)
  const points = a.data.handles?.points as Types.Point3[] | undefined
  if (!imageId || !spacing || !points) return null
  const p = imagePoints(imageId, points)
  const uid = a.annotationUID ?? ''
  const toolName = a.metadata?.toolName
  if (toolName === LengthTool.toolName && p.length >= 2) return { uid, kind: 'length', imageId, value: length(p[0], p[1], spacing), spacing }
  if (toolName === AngleTool.toolName && p.length >= 3) return { uid, kind: 'angle', imageId, value: angle(p[0], p[1], p[2], spacing), spacing }
  return null
}

/** How a measurement reads on the image and in the list (language-aware, from the view). */
export type Describe = (m: Measurement) => string

let nextId = 0

/** One open viewer: its rendering engine, tool group and viewports. */
export class ViewerEngine {
  readonly id = `station-viewer-${++nextId}`
  private engine = new RenderingEngine(this.id)
  private group: ToolTypes.IToolGroup
  private offs: (() => void)[] = []

  constructor(
    describe: Describe,
    onMeasurements: (ms: Measurement[]) => void,
  ) {
    const group = ToolGroupManager.createToolGroup(this.id)
    if (!group) throw new Error(`tool group ${this.id} exists`)
    this.group = group
    const lines = (toolName: string) => (data: ToolTypes.Annotation['data'], targetId: string) => {
      const m = measure({ metadata: { referencedImageId: imageIdOfTarget(targetId), toolName }, data, annotationUID: '' } as ToolTypes.Annotation)
      return m ? [describe(m)] : []
    }
    group.addTool(WindowLevelTool.toolName)
    group.addTool(PanTool.toolName)
    group.addTool(ZoomTool.toolName)
    group.addTool(StackScrollTool.toolName)
    group.addTool(LengthTool.toolName, { getTextLines: lines(LengthTool.toolName) })
    group.addTool(AngleTool.toolName, { getTextLines: lines(AngleTool.toolName) })
    const B = ToolEnums.MouseBindings
    group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: B.Auxiliary }] })
    group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: B.Secondary }] })
    group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: B.Wheel }] })
    this.setTool('wl')

    const refresh = () => onMeasurements(this.measurements())
    for (const ev of [ToolEnums.Events.ANNOTATION_COMPLETED, ToolEnums.Events.ANNOTATION_MODIFIED, ToolEnums.Events.ANNOTATION_REMOVED]) {
      eventTarget.addEventListener(ev, refresh)
      this.offs.push(() => eventTarget.removeEventListener(ev, refresh))
    }
  }

  /** The left mouse button's tool; middle pans, right zooms, the wheel scrolls frames. */
  setTool(tool: ToolName) {
    for (const t of Object.values(TOOL)) {
      if (t === PanTool.toolName || t === ZoomTool.toolName) continue
      this.group.setToolPassive(t)
    }
    const B = ToolEnums.MouseBindings
    const bindings = [{ mouseButton: B.Primary }]
    if (tool === 'pan') bindings.push({ mouseButton: B.Auxiliary })
    if (tool === 'zoom') bindings.push({ mouseButton: B.Secondary })
    this.group.setToolActive(TOOL[tool], { bindings })
    if (tool !== 'pan') this.group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: B.Auxiliary }] })
    if (tool !== 'zoom') this.group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: B.Secondary }] })
  }

  /** Makes `element` a stack viewport of this viewer. */
  enable(viewportId: string, element: HTMLDivElement): Types.IStackViewport {
    this.engine.enableElement({ viewportId, type: CoreEnums.ViewportType.STACK, element, defaultOptions: { background: [0, 0, 0] } })
    this.group.addViewport(viewportId, this.id)
    return this.engine.getViewport(viewportId) as Types.IStackViewport
  }

  disable(viewportId: string) {
    this.group.removeViewports(this.id, viewportId)
    this.engine.disableElement(viewportId)
  }

  /**
   * After the viewports' boxes changed size: the same view (zoom relative to fit, pan, rotation,
   * flips) in the new box, rather than Cornerstone's kept camera, which crops the image when its
   * box narrows. Once per burst of size changes, on the next animation frame.
   */
  resize() {
    if (this.resizeFrame) return
    this.resizeFrame = requestAnimationFrame(() => {
      this.resizeFrame = 0
      const views = (this.engine.getViewports() as Types.IStackViewport[]).map((vp) => [vp, vp.getViewPresentation()] as const)
      this.engine.resize(true, false)
      for (const [vp, view] of views) vp.setViewPresentation(view)
      this.engine.render()
    })
  }
  private resizeFrame = 0

  measurements(): Measurement[] {
    return annotation.state
      .getAllAnnotations()
      .map(measure)
      .filter((m): m is Measurement => !!m && !!m.uid)
  }

  removeMeasurement(uid: string) {
    annotation.state.removeAnnotation(uid)
    this.engine.render()
  }

  destroy() {
    cancelAnimationFrame(this.resizeFrame)
    this.offs.forEach((off) => off())
    annotation.state.removeAllAnnotations()
    ToolGroupManager.destroyToolGroup(this.id)
    this.engine.destroy()
  }
}

/** What presets need to know about the image shown, computed once per image. */
const imageFacts = new Map<string, ImageFacts>()

export function factsFor(viewport: Types.IStackViewport): ImageFacts | null {
  const imageId = viewport.getCurrentImageId()
  const image = viewport.getCornerstoneImage()
  if (!imageId || !image) return null
  const known = imageFacts.get(imageId)
  if (known) return known
  const meta = facts.get(imageId)?.meta
  const scaled = !!image.preScale?.scaled
  const range = percentileRange(image.getPixelData(), 0.005, 0.995, scaled ? 1 : (image.slope ?? 1), scaled ? 0 : (image.intercept ?? 0))
  const wc = num(meta, TAG.WindowCenter)
  const ww = num(meta, TAG.WindowWidth)
  const f: ImageFacts = {
    modality: str(meta, TAG.Modality),
    rescaleType: str(meta, TAG.RescaleType),
    monochrome1: str(meta, TAG.PhotometricInterpretation) === 'MONOCHROME1',
    range,
    fileVoi: wc !== undefined && ww !== undefined && ww > 0 ? { center: wc, width: ww } : undefined,
  }
  imageFacts.set(imageId, f)
  return f
}

export function currentVoi(viewport: Types.IStackViewport): Voi | null {
  const r = viewport.getProperties().voiRange
  return r ? rangeToVoi(r) : null
}

export function applyPreset(viewport: Types.IStackViewport, name: PresetName): Voi | null {
  const f = factsFor(viewport)
  if (!f) return null
  const voi = presetVoi(name, f)
  viewport.setProperties({ voiRange: voiToRange(voi) })
  viewport.render()
  return voi
}

export function toggleInvert(viewport: Types.IStackViewport): boolean {
  const invert = !viewport.getProperties().invert
  viewport.setProperties({ invert })
  viewport.render()
  return invert
}

export function rotate(viewport: Types.IStackViewport, degrees: number) {
  const { rotation = 0 } = viewport.getViewPresentation()
  viewport.setViewPresentation({ rotation: (((rotation + degrees) % 360) + 360) % 360 })
  viewport.render()
}

export function flip(viewport: Types.IStackViewport, direction: 'h' | 'v') {
  const { flipHorizontal = false, flipVertical = false } = viewport.getCamera()
  viewport.setCamera(direction === 'h' ? { flipHorizontal: !flipHorizontal } : { flipVertical: !flipVertical })
  viewport.render()
}

/** The whole image in the viewport, keeping rotation and flips. */
export function fit(viewport: Types.IStackViewport) {
  viewport.setViewPresentation({ zoom: 1, pan: [0, 0] })
  viewport.render()
}

/** One image pixel to one screen pixel. */
export function oneToOne(viewport: Types.IStackViewport) {
  const rowSpacing = viewport.getImageData()?.spacing?.[1] ?? 1
  const zoom = viewport.getZoom()
  const fitScale = viewport.getCamera().parallelScale! * zoom
  viewport.setZoom(fitScale / oneToOneParallelScale(viewport.canvas.height, rowSpacing))
  viewport.render()
}

/** Loads every frame of a stack into the cache (for cine), at most `max` at once. */
export async function prefetch(imageIds: string[], max = 4): Promise<void> {
  const queue = [...imageIds]
  const worker = async () => {
    for (let id = queue.shift(); id; id = queue.shift()) {
      if (cache.getImageLoadObject(id)) continue
      // A frame that fails here is fetched again (and its error shown) when it is displayed.
      await imageLoader.loadAndCacheImage(id).catch(() => {})
    }
  }
  await Promise.all(Array.from({ length: Math.min(max, queue.length) }, worker))
}

export { CoreEnums, eventTarget }
