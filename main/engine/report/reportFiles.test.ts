import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ReportFiles } from './reportFiles.ts';

const root = mkdtempSync(join(tmpdir(), 'fs-report-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function files(): ReportFiles {
  const report = new ReportFiles(() => []);
  report.addFile('report.json', '{"new":true}\n');
  return report;
}

describe('ReportFiles.writeTo: replaces a report, never a folder of other files', () => {
  it('creates an absent folder and replaces an earlier report whole', async () => {
    const out = join(root, 'fresh');
    expect(await files().writeTo(out)).toEqual(['report.json']);
    writeFileSync(join(out, 'stale.svg'), '<svg/>');
    await files().writeTo(out);
    expect(readdirSync(out)).toEqual(['report.json']);
  });

  it('replaces a folder of earlier reports (the several-models layout)', async () => {
    const out = join(root, 'several');
    for (const sub of ['llava', 'compare']) {
      mkdirSync(join(out, sub), { recursive: true });
      writeFileSync(join(out, sub, sub === 'compare' ? 'compare.json' : 'report.json'), '{}');
    }
    await files().writeTo(out);
    expect(readdirSync(out)).toEqual(['report.json']);
  });

  it('refuses a folder holding anything else, naming it, and leaves it untouched', async () => {
    const out = join(root, 'home');
    mkdirSync(join(out, 'notes'), { recursive: true });
    writeFileSync(join(out, 'thesis.tex'), 'precious');
    await expect(files().writeTo(out)).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringContaining(`${out} holds files and is not an earlier report`),
    });
    expect(readFileSync(join(out, 'thesis.tex'), 'utf8')).toBe('precious');
    expect(existsSync(join(out, 'notes'))).toBe(true);
    expect(readdirSync(root).some((name) => name.includes('.tmp-'))).toBe(false);
  });
});
