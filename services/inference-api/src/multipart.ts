import { LoomwatchError } from '@loomwatch/contracts';

/** Part types taken as the image: what clients send for a PNG or JPEG file, or no type at all. */
const PART_TYPES = new Set(['image/png', 'image/jpeg', 'application/octet-stream', '']);

/**
 * The bytes of the `image` part of a `multipart/form-data` body (already read, so already within
 * the body limit). The parsing is the platform's (`Response.formData`), so no parser of our own.
 */
export async function imageFromMultipart(body: Buffer, contentType: string): Promise<Buffer> {
  let form: FormData;
  try {
    form = await new Response(new Uint8Array(body), { headers: { 'content-type': contentType } }).formData();
  } catch (err) {
    throw new LoomwatchError('MESSAGE_SCHEMA_VIOLATION', 'the multipart/form-data body could not be parsed: check the boundary and the parts', { cause: err });
  }
  const part = form.get('image');
  if (part === null) throw new LoomwatchError('IMAGE_EMPTY', 'the multipart body has no "image" part: send the image as the form field "image"');
  if (typeof part === 'string') throw new LoomwatchError('IMAGE_UNSUPPORTED_FORMAT', 'the "image" part is a text field: send it as a file (image/png or image/jpeg)');
  const type = part.type.split(';')[0]?.trim().toLowerCase() ?? '';
  if (!PART_TYPES.has(type)) throw new LoomwatchError('IMAGE_UNSUPPORTED_FORMAT', `the "image" part is ${type}: send image/png or image/jpeg`);
  return Buffer.from(await part.arrayBuffer());
}
