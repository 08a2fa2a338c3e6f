// @vitest-environment node
// The generated API view: the committed files are what the generator makes of the engine's
// document (so nobody edits a type or a role by hand), and the call they type is strict: a call
// naming the wrong request, the wrong answer or an unknown operation does not compile.
import { describe, expect, it } from 'vitest'
import ts from 'typescript'
import { opsSource, rolesSource } from '../../scripts/api-types.mjs'
import documentText from './generated/openapi.json?raw'
import opsText from './generated/ops.ts?raw'
import rolesText from './generated/roles.ts?raw'

const doc = JSON.parse(documentText)

describe('generated API types', () => {
  it('are what the generator makes of the committed OpenAPI document', () => {
    expect(opsText).toBe(opsSource(doc))
    expect(rolesText).toBe(rolesSource(doc))
  })

  it("carry the engine's role table, and refuse an operation without one", () => {
    expect(rolesText).toContain("login: 'public',")
    expect(rolesText).toContain("report_ack: ['doctor', 'manager', 'admin'],")
    const bare = structuredClone(doc)
    delete bare.paths['/api/report_ack'].post['x-roles']
    expect(() => rolesSource(bare)).toThrow(/report_ack: x-roles/)
  })

  it('make a call with the wrong request, answer or operation fail the type check', () => {
    const dir = new URL('.', import.meta.url).pathname
    const probe = `${dir}typed-call-probe.ts`
    const source = [
      "import type { Backend } from './backend'",
      "import type { Schemas } from './generated/ops'",
      'declare const b: Backend',
      'export async function probe() {',
      "  const ok: Schemas['StudyPage'] = await b.call('studies_list', { limit: 5 })",
      "  await b.call('study_hold', { study_uid: '1.2' })",
      "  await b.call('me')",
      "  const wrongAnswer: Schemas['ReportList'] = await b.call('studies_list', { limit: 5 })",
      "  await b.call('study_hold', { accession: 'A1' })",
      "  await b.call('study_hold')",
      "  await b.call('study_holdd', { study_uid: '1.2' })",
      '  return [ok, wrongAnswer]',
      '}',
    ].join('\n')
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: [],
    }
    const host = ts.createCompilerHost(options)
    const read = host.getSourceFile
    host.getSourceFile = (name, version, ...rest) =>
      name === probe ? ts.createSourceFile(name, source, version) : read(name, version, ...rest)
    const program = ts.createProgram([probe], options, host)
    const lines = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file?.fileName === probe)
      .map((d) => d.file!.getLineAndCharacterOfPosition(d.start!).line + 1)
    // Lines 5-7 are right; each of lines 8-11 is one mistake.
    expect(lines).toEqual([8, 9, 10, 11])
  }, 60_000) // a whole type check: seconds on a busy 2-core machine
})
