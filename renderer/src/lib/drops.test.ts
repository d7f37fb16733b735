import { describe, expect, it } from 'vitest';

import { DROP_HINT, pathsInText, planDrop, type DroppedEntry } from './drops.ts';

const file = (name: string, type: string, path: string | null = null): DroppedEntry => ({
  name,
  type,
  path,
  isFolder: false,
});
const folder = (name: string, path: string | null = null): DroppedEntry => ({
  name,
  type: '',
  path,
  isFolder: true,
});

describe('planDrop', () => {
  it('sends every located entry to the backend, in order (desktop app)', () => {
    const plan = planDrop(
      [folder('llava', '/models/llava'), file('pope.json', 'application/json', '/data/pope.json')],
      null,
    );
    expect(plan).toEqual({ kind: 'paths', paths: ['/models/llava', '/data/pope.json'] });
  });

  it('does not trust the type a located file claims: an "image" path is judged by the backend too', () => {
    expect(planDrop([file('cat.png', 'image/png', '/tmp/cat.png')], null)).toEqual({
      kind: 'paths',
      paths: ['/tmp/cat.png'],
    });
  });

  it('hands the first image of a browser drop to the Playground, counting what it leaves out', () => {
    const plan = planDrop(
      [file('notes.txt', 'text/plain'), file('cat.webp', 'image/webp'), file('b.png', 'image/png')],
      null,
    );
    expect(plan).toEqual({ kind: 'image', index: 1, ignored: 2 });
  });

  it('says how to go on when a browser drop has no image and no path', () => {
    const plan = planDrop([folder('llava-1.5-7b-hf')], null);
    expect(plan.kind).toBe('notice');
    expect(plan.kind === 'notice' && plan.text).toMatch(
      /dropped folder “llava-1\.5-7b-hf”.*type its path.*desktop app/i,
    );
    const data = planDrop([file('pope.jsonl', 'application/jsonl')], 'ignored text');
    expect(data.kind === 'notice' && data.text).toMatch(/dropped file “pope\.jsonl”/);
  });

  it('takes paths dropped as text, and refuses other text', () => {
    expect(planDrop([], '/models/llava\n')).toEqual({ kind: 'paths', paths: ['/models/llava'] });
    expect(planDrop([], 'a llava model')).toEqual({ kind: 'notice', text: DROP_HINT });
    expect(planDrop([], null)).toEqual({ kind: 'notice', text: DROP_HINT });
  });
});

describe('pathsInText', () => {
  it('reads absolute paths and file URLs, one per line (text/uri-list comments skipped)', () => {
    expect(
      pathsInText('# dragged from a file manager\r\nfile:///home/me/My%20Models/llava\r\n/data/pope.json\n'),
    ).toEqual(['/home/me/My Models/llava', '/data/pope.json']);
    expect(pathsInText('file:///C:/Users/me/llava')).toEqual(['C:/Users/me/llava']);
    expect(pathsInText('C:\\Users\\me\\llava')).toEqual(['C:\\Users\\me\\llava']);
    expect(pathsInText('\\\\server\\share\\pope.json')).toEqual(['\\\\server\\share\\pope.json']);
  });

  it('refuses text with any line that is not an absolute path or a file URL', () => {
    for (const text of [
      'models/llava',
      '/a\nrelative/b',
      'https://huggingface.co/llava-hf',
      'file://[bad',
      '  \n',
      '',
    ])
      expect(pathsInText(text), JSON.stringify(text)).toBeNull();
  });
});
