// The gateway's JSON API for the faces. Every failure becomes an ApiError carrying the problem
// body's stable `code` (and its extra fields); a request that never reached the gateway has code
// "network". `base` is the gateway's origin ("" on its own pages, the widget's origin elsewhere).

export class ApiError extends Error {
  constructor(status, code, detail, body = null) {
    super(detail || code);
    this.status = status;
    this.code = code;
    this.detail = detail || "";
    this.body = body || {};
  }
}

/** "?a=1&status=x&status=y": arrays repeat their key; null, undefined and "" are left out. */
export function queryString(query = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== null && item !== undefined && item !== "") params.append(key, String(item));
    }
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

export class Gateway {
  /**
   * @param {{base?: string, token?: () => (string|null|Promise<string|null>)}} options
   *   `token` gives the bearer token for calls made with `auth: true` (the default).
   */
  constructor({ base = "", token = () => null } = {}) {
    this.base = base;
    this.token = token;
  }

  url(path, query) {
    return `${this.base}${path}${queryString(query)}`;
  }

  async request(method, path, { body, headers = {}, query, auth = true, keepalive = false } = {}) {
    const init = { method, keepalive, headers: { Accept: "application/json", ...headers } };
    const token = auth ? await this.token() : null;
    if (token) init.headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(this.url(path, query), init);
    } catch {
      throw new ApiError(0, "network", "The gateway could not be reached.");
    }
    if (response.status === 204) return { data: null, response };
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const code = (data && data.code) || `http_${response.status}`;
      throw new ApiError(response.status, code, data && data.detail, data);
    }
    return { data, response };
  }

  async get(path, query, options = {}) {
    return (await this.request("GET", path, { ...options, query })).data;
  }

  async post(path, body, options = {}) {
    return (await this.request("POST", path, { ...options, body })).data;
  }

  async patch(path, body, options = {}) {
    return (await this.request("PATCH", path, { ...options, body })).data;
  }

  async delete(path, options = {}) {
    return (await this.request("DELETE", path, options)).data;
  }

  /** Every item of a paged list (`{items, next_cursor}`), following the cursor up to `maxPages`. */
  async all(path, query, maxPages = 20) {
    const items = [];
    let cursor = null;
    for (let page = 0; page < maxPages; page += 1) {
      const data = await this.get(path, { ...query, cursor });
      items.push(...data.items);
      cursor = data.next_cursor;
      if (!cursor) break;
    }
    return items;
  }
}

/**
 * The gateway's clock minus ours, in ms, judged from a response's Date header: 0 unless they are
 * clearly apart (Date has whole seconds, so small differences are noise; NTP keeps most clocks
 * right, and then ours is the better one). Cross-origin, the header is hidden and this is 0.
 */
export function clockOffset(response) {
  const served = Date.parse(response.headers.get("Date") || "");
  if (Number.isNaN(served)) return 0;
  const offset = served + 500 - Date.now(); // on average the gateway was half a second further
  return Math.abs(offset) > 2_000 ? offset : 0;
}

/** Problem codes every face explains the same way. */
export const COMMON_MESSAGES = {
  network: "We could not reach the gateway. Please check your connection and try again.",
  rate_limited: "Too many tries in a short time. Please wait a moment and try again.",
  too_many_holds: "You are already holding as many times as allowed. Confirm one or let one go first.",
  too_many_bookings: "Too many bookings came from this connection. Please contact the clinic to book more.",
  forbidden: "This sign-in may not do that.",
  unauthorized: "Your sign-in is no longer valid. Please sign in again.",
  unknown_key: "This token is unknown or was revoked. Please sign in again.",
};

/** A sentence for the user: ours for known codes, the gateway's detail for the rest. */
export function explain(error, messages = {}) {
  return (
    messages[error.code] ||
    COMMON_MESSAGES[error.code] ||
    (error.status && error.status < 500 && error.detail) ||
    "Something went wrong on our side. Please try again."
  );
}
