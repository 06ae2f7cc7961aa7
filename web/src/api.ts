// The page's side of the API: /api/v3 calls with the session cookie (sent by the browser) and the
// CSRF token kept in memory only; VirusTotal's error objects become ApiError.
export interface Session {
  username: string;
  is_admin: boolean;
  csrf_token: string;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let session: Session | null = null;
export const currentSession = () => session;

async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (session && method !== 'GET') headers['x-csrf-token'] = session.csrf_token;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const text = await res.text();
  const json = text ? JSON.parse(text) : {};
  if (!res.ok) {
    const e = json?.error ?? {};
    if (res.status === 401 && url !== '/ui/session') {
      session = null;
      window.dispatchEvent(new Event('trawl:signed-out'));
    }
    throw new ApiError(res.status, e.code ?? 'Error', e.message ?? res.statusText);
  }
  return json as T;
}

export const api = {
  get: <T = any>(url: string) => request<T>('GET', url),
  post: <T = any>(url: string, body?: unknown) => request<T>('POST', url, body ?? {}),
  patch: <T = any>(url: string, body: unknown) => request<T>('PATCH', url, body),
  delete: <T = any>(url: string) => request<T>('DELETE', url),
};

/** The session of the cookie, if any (a reload keeps it: the cookie outlives the page). */
export async function loadSession(): Promise<Session | null> {
  try {
    session = (await request<{ data: { attributes: Session } | null }>('GET', '/ui/session')).data?.attributes ?? null;
  } catch {
    session = null;
  }
  return session;
}

export async function signIn(apikey: string): Promise<Session> {
  session = (await request<{ data: { attributes: Session } }>('POST', '/ui/session', { apikey })).data.attributes;
  return session;
}

export async function signOut(): Promise<void> {
  await request('DELETE', '/ui/session');
  session = null;
}

/**
 * Uploads one file with progress (fetch has no upload progress): resolves with the analysis id.
 */
export function upload(file: File, password: string, onProgress: (fraction: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v3/files');
    xhr.setRequestHeader('x-csrf-token', session?.csrf_token ?? '');
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let json: any = {};
      try {
        json = JSON.parse(xhr.responseText);
      } catch {
        /* an empty or non-JSON answer: reported below by status */
      }
      if (xhr.status === 200) resolve(json.data.id);
      else reject(new ApiError(xhr.status, json?.error?.code ?? 'Error', json?.error?.message ?? `HTTP ${xhr.status}`));
    };
    xhr.onerror = () => reject(new ApiError(0, 'NetworkError', 'the upload was interrupted'));
    const form = new FormData();
    form.append('file', file, (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name);
    if (password) form.append('password', password);
    xhr.send(form);
  });
}
