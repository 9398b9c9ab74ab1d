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
