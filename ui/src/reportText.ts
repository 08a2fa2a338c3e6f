// The engine renders an SR's content tree as text (reports/sr: "【heading】" lines, then
// "concept：value" lines, two spaces of indent per level). This turns it back into blocks the
// report screen can lay out: headings bold, concepts as labels, free text as paragraphs.
//
// Must never: drop or reorder a line of the report (what the center wrote is shown whole).

export type ReportBlock =
  | { kind: 'heading'; depth: number; text: string }
  | { kind: 'field'; depth: number; label: string; value: string }
  | { kind: 'text'; depth: number; text: string }

export function reportBlocks(text: string): ReportBlock[] {
  const blocks: ReportBlock[] = []
  for (const raw of text.split(/\r?\n/)) {
    if (raw.trim() === '') continue
    const depth = Math.floor((raw.length - raw.trimStart().length) / 2)
    const line = raw.trim()
    const heading = /^【(.+)】$/.exec(line)
    if (heading) {
      blocks.push({ kind: 'heading', depth, text: heading[1] })
      continue
    }
    // The engine joins concept and value with a full-width colon; a value may contain more.
    const at = line.indexOf('：')
    if (at > 0 && at < 40) blocks.push({ kind: 'field', depth, label: line.slice(0, at), value: line.slice(at + 1).trim() })
    else blocks.push({ kind: 'text', depth, text: line })
  }
  return blocks
}
