/** The dashboard API's problem+json, and a fetch that turns a refusal into an error saying what it is. */
export interface Problem {
  status: number;
  code: string;
  detail: string;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(`${problem.code}: ${problem.detail}`);
  }
}

export async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, signal === undefined ? {} : { signal });
  if (!res.ok) {
    const body = (await res.json().catch(() => undefined)) as Partial<Problem> | undefined;
    throw new ApiError({ status: res.status, code: body?.code ?? `HTTP_${res.status}`, detail: body?.detail ?? res.statusText });
  }
  return (await res.json()) as T;
}

/** Who is signed in (`GET /api/me`). */
export interface Me {
  name: string;
  role: 'viewer' | 'operator' | 'engineer';
  roles: string[];
  csrfToken: string;
  authMode: 'oidc' | 'none';
}

/** A state-changing call: JSON body, the session's CSRF token in `x-csrf-token`. */
export async function postJson<T>(url: string, body: unknown, csrfToken: string): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken }, body: JSON.stringify(body) });
  if (!res.ok) {
    const problem = (await res.json().catch(() => undefined)) as Partial<Problem> | undefined;
    throw new ApiError({ status: res.status, code: problem?.code ?? `HTTP_${res.status}`, detail: problem?.detail ?? res.statusText });
  }
  return (await res.json()) as T;
}

/** Sends the browser to sign in again, back to this page afterwards. */
export function signInAgain(): void {
  location.assign(`/auth/login?returnTo=${encodeURIComponent(location.pathname + location.search)}`);
}
