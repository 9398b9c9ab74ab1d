import { describe, expect, it } from 'vitest';
import { imageFromMultipart } from './multipart.js';

/** A multipart body as a client would send it, with its content-type header. */
async function encode(form: FormData): Promise<{ body: Buffer; contentType: string }> {
  const request = new Request('http://x/', { method: 'POST', body: form });
  return { body: Buffer.from(await request.arrayBuffer()), contentType: request.headers.get('content-type') ?? '' };
}

const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);

describe('imageFromMultipart', () => {
  it('returns the bytes of the "image" part, beside other fields', async () => {
    const form = new FormData();
    form.append('note', 'a text field');
    form.append('image', new Blob([bytes], { type: 'image/png' }), 'frame.png');
    const { body, contentType } = await encode(form);
    expect(await imageFromMultipart(body, contentType)).toEqual(bytes);
  });

  it('refuses a form without an image part, a text image field and another file type with IMAGE_* codes', async () => {
    const cases: Array<[FormData, string]> = [];
    const none = new FormData();
    none.append('picture', new Blob([bytes], { type: 'image/png' }), 'frame.png');
    cases.push([none, 'IMAGE_EMPTY']);
    const text = new FormData();
    text.append('image', 'not a file');
    cases.push([text, 'IMAGE_UNSUPPORTED_FORMAT']);
    const gif = new FormData();
    gif.append('image', new Blob([bytes], { type: 'image/gif' }), 'frame.gif');
    cases.push([gif, 'IMAGE_UNSUPPORTED_FORMAT']);
    for (const [form, code] of cases) {
      const { body, contentType } = await encode(form);
      await expect(imageFromMultipart(body, contentType)).rejects.toMatchObject({ code });
    }
  });

  it('refuses a body that does not match its boundary with MESSAGE_SCHEMA_VIOLATION', async () => {
    await expect(imageFromMultipart(Buffer.from('no parts here'), 'multipart/form-data; boundary=abc')).rejects.toMatchObject({ code: 'MESSAGE_SCHEMA_VIOLATION' });
  });
});
