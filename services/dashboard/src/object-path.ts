/** The path prefix of the object proxy. Shared with the page, so it imports nothing. */
export const OBJECTS_PATH = '/api/objects/';

/** The proxy URL path of an object (each key segment percent-encoded). */
export function objectPath(ref: { bucket: string; key: string }): string {
  return `${OBJECTS_PATH}${encodeURIComponent(ref.bucket)}/${ref.key.split('/').map(encodeURIComponent).join('/')}`;
}
