/**
 * Export tables and long arrays as Parquet, through hyparquet-writer (Snappy-compressed pages, the
 * writer's default, which pyarrow and pandas read). Schemas are explicit, never guessed from values: a
 * column of whole numbers stays the double it is, an empty table keeps its columns. Arrays are
 * streamed: one row group per million elements, so memory stays one row group whatever the run's size.
 */
import { fileWriter, ParquetWriter, parquetWriteFile, type SchemaElement } from 'hyparquet-writer';

import { FusionError } from '../../common/errors.ts';
import type { StoredArray } from '../../common/runs.ts';
import { checkRank, forEachElement, longColumns, type ArraySink } from './longArrays.ts';
import { rowCount, type ColumnType, type ExportTable } from './tables.ts';

const PHYSICAL: Record<ColumnType, Omit<SchemaElement, 'name'>> = {
  int32: { type: 'INT32' },
  double: { type: 'DOUBLE' },
  boolean: { type: 'BOOLEAN' },
  string: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
};

const CREATED_BY = 'fusionscope export (hyparquet-writer)';

/** hyparquet-writer's file writer is synchronous (no flush hook): a promise here would be a change in it. */
function synchronous(result: void | Promise<void>): void {
  if (result !== undefined) throw new FusionError('INTERNAL', 'the Parquet file writer became asynchronous');
}

export function writeParquetTable(path: string, table: ExportTable): void {
  const schema: SchemaElement[] = [
    { name: 'root', num_children: table.columns.length },
    ...table.columns.map((c) => ({
      name: c.name,
      ...PHYSICAL[c.type],
      repetition_type: c.values.includes(null) ? ('OPTIONAL' as const) : ('REQUIRED' as const),
    })),
  ];
  synchronous(
    parquetWriteFile({
      filename: path,
      schema,
      columnData: table.columns.map((c) => ({ name: c.name, data: [...c.values] })),
      rowGroupSize: Math.max(1, rowCount(table)),
      createdBy: CREATED_BY,
    }),
  );
}

/** Elements per row group of a long array file. */
const ROW_GROUP = 1 << 20;

export class LongArrayParquet implements ArraySink {
  private readonly writer: ParquetWriter;
  private readonly names: string[];
  /** One row group's rows, reused: each is encoded before the next is filled. */
  private readonly columns: Int32Array[];
  private readonly values = new Float32Array(ROW_GROUP);
  private filled = 0;
  private finished = false;

  constructor(
    path: string,
    private readonly name: string,
    private readonly rank: number,
  ) {
    this.names = longColumns(rank);
    const required = 'REQUIRED' as const;
    this.writer = new ParquetWriter({
      writer: fileWriter(path),
      schema: [
        { name: 'root', num_children: this.names.length },
        ...this.names
          .slice(0, -1)
          .map((n) => ({ name: n, type: 'INT32' as const, repetition_type: required })),
        { name: 'value', type: 'FLOAT', repetition_type: required },
      ],
      createdBy: CREATED_BY,
    });
    this.columns = Array.from({ length: rank + 1 }, () => new Int32Array(ROW_GROUP));
  }

  add(sample: number, array: StoredArray): null {
    checkRank(this.name, this.rank, sample, array);
    const { data } = array;
    forEachElement(array.shape, data.length, (flat, index) => {
      const row = this.filled++;
      this.columns[0][row] = sample;
      for (let d = 0; d < index.length; d++) this.columns[d + 1][row] = index[d];
      this.values[row] = data[flat];
      if (this.filled === ROW_GROUP) this.flush();
    });
    return null;
  }

  close(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.filled > 0) this.flush();
    synchronous(this.writer.finish());
  }

  abort(): void {
    // The file writer holds no handle between flushes; the caller removes the partial file.
    this.finished = true;
  }

  private flush(): void {
    const n = this.filled;
    const data = [...this.columns.map((c) => c.subarray(0, n)), this.values.subarray(0, n)];
    synchronous(
      this.writer.write({
        columnData: this.names.map((name, i) => ({ name, data: data[i] })),
        rowGroupSize: n,
      }),
    );
    this.filled = 0;
  }
}
