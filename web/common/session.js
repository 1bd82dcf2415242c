// A staff page's sign-in: the pasted bearer token (and, for the platform operator, the
// organisation), kept in this tab's sessionStorage only: never in a URL, gone when the tab closes.

export class StaffSession {
  constructor(key) {
    this.key = key;
  }

  load() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(this.key) || "null");
      return saved && typeof saved.token === "string" ? saved : null;
    } catch {
      return null;
    }
  }

  save(value) {
    sessionStorage.setItem(this.key, JSON.stringify(value));
  }

  clear() {
    sessionStorage.removeItem(this.key);
  }
}

/** Read a sign-in form's token, trimmed, with "Bearer " pasted along by mistake taken off. */
export function pastedToken(input) {
  return input.value.trim().replace(/^bearer\s+/i, "");
}
