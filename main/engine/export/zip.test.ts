/**
 * Zip files as zip.ts writes them: the CRC-32 check value of the specification's test string, UTF-8
 * names, ZIP64 records (forced, and triggered by 65 536 members), refusals; read by the test reader and,
 * where python3 exists, by Python's zipfile (an independent implementation).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readZip } from './npz.testing.ts';
import { pythonHas, runPythonCode, skipReason } from './python.testing.ts';
import { ZipWriter } from './zip.ts';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-zip-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const PYTHON_LIST = `import sys, zipfile, json
with zipfile.ZipFile(sys.argv[1]) as z:
    # testzip reads every member (CRC checked); skipped for the 65 536 members of one byte.
    assert len(sys.argv) > 2 or z.testzip() is None
    infos = z.infolist()
    print(json.dumps({"count": len(infos), "first": {i.filename: z.read(i).hex() for i in infos[:3]},
                      "last": [infos[-1].filename, z.read(infos[-1]).hex()]}))`;

const text = (s: string) => Buffer.from(s, 'utf8');

function writeZip(path: string, members: Record<string, string>, zip64?: 'always'): void {
  const zip = new ZipWriter(path, { zip64 });
  for (const [name, content] of Object.entries(members)) zip.add(name, [text(content)]);
  zip.close();
}

describe('ZipWriter', () => {
  it('stores members with the CRC-32 of the specification’s check string (0xCBF43926)', async () => {
    const path = join(root, 'check.zip');
    writeZip(path, { 'check.txt': '123456789' });
    const bytes = await readFile(path);
    // Local header: CRC at offset 14, sizes at 18 and 22, method 0 (STORED) at 8.
    expect(bytes.readUInt32LE(14)).toBe(0xcbf43926);
    expect([bytes.readUInt16LE(8), bytes.readUInt32LE(18), bytes.readUInt32LE(22)]).toEqual([0, 9, 9]);
    expect(readZip(path).map((m) => [m.name, m.data.toString(), m.zip64])).toEqual([
      ['check.txt', '123456789', false],
    ]);
  });

  it('keeps names in UTF-8 and content split over chunks whole', () => {
    const path = join(root, 'names.zip');
    const zip = new ZipWriter(path);
    zip.add('ключ/ü.npy', [text('ab'), new Uint8Array(0), text('cd')]);
    zip.add('empty', []);
    // An empty chunk after data must leave the running CRC as it was (Node's crc32 does not).
    zip.add('trailing-empty', [text('abc'), new Uint8Array(0)]);
    zip.close();
    expect(readZip(path).map((m) => [m.name, m.data.toString()])).toEqual([
      ['ключ/ü.npy', 'abcd'],
      ['empty', ''],
      ['trailing-empty', 'abc'],
    ]);
  });

  it('refuses a name used twice, an existing file, and members after close', async () => {
    const path = join(root, 'twice.zip');
    const zip = new ZipWriter(path);
    zip.add('a', [text('1')]);
    expect(() => zip.add('a', [text('2')])).toThrow(/"a" is empty or used twice/);
    zip.close();
    expect(() => zip.add('b', [])).toThrow(/already closed/);
    await writeFile(join(root, 'taken.zip'), 'x');
    expect(() => new ZipWriter(join(root, 'taken.zip'))).toThrow(/EEXIST/);
  });

  it('writes ZIP64 records when asked, which the test reader follows', () => {
    const path = join(root, 'forced64.zip');
    writeZip(path, { a: 'first', b: 'second' }, 'always');
    expect(readZip(path).map((m) => [m.name, m.data.toString(), m.zip64])).toEqual([
      ['a', 'first', true],
      ['b', 'second', true],
    ]);
  });

  it(`is read by Python's zipfile, plain, forced ZIP64, and past 65 535 members${skipReason()}`, ({
    skip,
  }) => {
    if (!pythonHas()) skip();
    const plain = join(root, 'py-plain.zip');
    writeZip(plain, { 'x.txt': 'hello', 'ü.bin': 'wörld' });
    const forced = join(root, 'py-forced.zip');
    writeZip(forced, { 'x.txt': 'hello', 'ü.bin': 'wörld' }, 'always');
    const many = join(root, 'py-many.zip');
    const zip = new ZipWriter(many);
    for (let i = 0; i < 65_536; i++) zip.add(`m${i}`, [text(String(i % 10))]);
    zip.close();
    const expected = {
      count: 2,
      first: { 'x.txt': text('hello').toString('hex'), 'ü.bin': text('wörld').toString('hex') },
    };
    for (const path of [plain, forced]) {
      const run = runPythonCode(PYTHON_LIST, [path]);
      expect(run.stderr).toBe('');
      expect(JSON.parse(run.stdout)).toMatchObject(expected);
    }
    const run = runPythonCode(PYTHON_LIST, [many, 'no-testzip']);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toMatchObject({
      count: 65_536,
      last: ['m65535', text('5').toString('hex')],
    });
    expect(readZip(many)).toHaveLength(65_536);
  });
});
