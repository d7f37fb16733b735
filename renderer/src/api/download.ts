/** Browser mode's "save": a download of the bytes under the suggested name. */
import type { ExportedFile } from '../../../main/common/api/index.ts';

export function fileBytes(file: ExportedFile): Uint8Array<ArrayBuffer> {
  const binary = atob(file.base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function downloadFile(file: ExportedFile): string {
  const url = URL.createObjectURL(new Blob([fileBytes(file)], { type: file.mime }));
  const link = document.createElement('a');
  link.href = url;
  link.download = file.fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return file.fileName;
}
