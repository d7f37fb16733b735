// Decodes one Parquet file with hyparquet in a worker thread (parquetReader.ts starts and watches it).
// hyparquet trusts the counts inside a file: a damaged page can make it loop for minutes, allocate
// without bound, or reject a promise nobody awaits. Here that costs a worker the reader terminates,
// never the process that imports the dataset. Plain JavaScript, so no TypeScript loader is needed in
// the thread, from the sources or from the CLI bundle alike.
import { parentPort } from 'node:worker_threads';

import { parquetMetadata, parquetReadObjects } from 'hyparquet';

let file;

parentPort.on('message', async (request) => {
  try {
    if (request.kind === 'open') {
      file = request.buffer;
      parentPort.postMessage({ kind: 'metadata', metadata: parquetMetadata(file) });
    } else {
      const { rowStart, rowEnd } = request;
      // utf8: false: binary columns without a STRING annotation (image bytes) stay bytes.
      const rows = await parquetReadObjects({ file, rowStart, rowEnd, utf8: false });
      parentPort.postMessage({ kind: 'rows', rows });
    }
  } catch (error) {
    parentPort.postMessage({
      kind: 'error',
      message: error instanceof Error ? error.message : String(error),
    });
  }
});
