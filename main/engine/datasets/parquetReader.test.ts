import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { ParquetReader } from './parquetReader.ts';

const FIXTURE = fileURLToPath(
  new URL('./fixtures/parquet/mmbench/dev-00000-of-00001.parquet', import.meta.url),
);

describe('ParquetReader (hyparquet in a watched worker)', () => {
  it('reads the footer and rows of a good file', async () => {
    const reader = await ParquetReader.open('dev.parquet', await readFile(FIXTURE));
    try {
      expect(Number(reader.metadata.num_rows)).toBe(2);
      const rows = await reader.rows(0, 2);
      expect(rows.map((r) => r.question)).toEqual(['What colour is the square?', 'Is the picture bright?']);
      expect((rows[0].image as { bytes: unknown }).bytes).toBeInstanceOf(Uint8Array);
    } finally {
      await reader.close();
    }
  });

  it('stops a decode that does not end and refuses the file by name', async () => {
    // One byte changed inside the image.path column's page (found by fuzzing): hyparquet then decodes
    // definition levels without end. Unwatched, this hung the importing process.
    const bytes = Buffer.from(await readFile(FIXTURE));
    bytes[764] = 128;
    const reader = await ParquetReader.open('damaged.parquet', bytes, 1_500);
    try {
      const started = Date.now();
      await expect(reader.rows(0, 2)).rejects.toMatchObject({
        code: 'BAD_DATASET',
        message:
          'damaged.parquet: not a readable Parquet file, or cut short (decoding took over 1.5 s; the file is damaged or hostile)',
      });
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await reader.close();
    }
  });

  it('refuses what is not Parquet, naming hyparquet’s reason', async () => {
    await expect(
      ParquetReader.open('notes.parquet', new TextEncoder().encode('just text')),
    ).rejects.toMatchObject({
      code: 'BAD_DATASET',
      message:
        'notes.parquet: not a readable Parquet file, or cut short (parquet file invalid (footer != PAR1))',
    });
  });
});
