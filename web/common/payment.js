// Payments, as the booking faces see them: an appointment type may ask for a deposit ("token"), an
// advance or the full fee before the booking is confirmed. The gateway never processes cards: the
// face shows the amount and mode, obtains a payment reference from the clinic's or partner's own
// payment step (a hook), and the confirm sends it as `payment.reference`.
//   - booking page: the clinic's payment page (GATEWAY_PAYMENT_PAGE_URL), opened in a window; it
//     answers with postMessage({type: "booking-payment", hold_id, reference}) to the page's origin.
//   - widget: POST {hold_id, amount, currency, mode} to data-payment-endpoint (the partner's origin)
//     → {reference}; or, without one, a cancelable "booking-widget:payment" event whose
//     detail.respond(reference) / detail.fail() the partner calls after event.preventDefault().

import { ApiError } from "./http.js";
import { LOCALE, t } from "./i18n.js";

/** What the type asks for ({mode, amount_cents, currency}), as the gateway records it; null for none. */
export function paymentDue(type) {
  const mode = type?.payment_mode;
  if (!mode || mode === "none") return null;
  const fee = type.fee_cents || 0;
  const amount = { token: type.token_amount_cents || 0, advance: Math.floor((fee * (type.advance_percent || 100)) / 100), full: fee }[mode];
  return { mode, amount_cents: amount ?? 0, currency: type.currency || "EUR" };
}

/** "€30.00" / "30,00 €" in the page's language. */
export function amountText(due) {
  try {
    return new Intl.NumberFormat(LOCALE, { style: "currency", currency: due.currency }).format(due.amount_cents / 100);
  } catch {
    return `${(due.amount_cents / 100).toFixed(2)} ${due.currency}`;
  }
}

/** "This appointment asks for an advance payment: €30.00. …" */
export function dueText(due) {
  return t("payment.asks", amountText(due), t(`payment.${due.mode}`));
}

const failed = () => new ApiError(0, "payment_failed", t("payment.failed"));
const referenceOf = (data) => (data && typeof data.reference === "string" && data.reference.trim() ? data.reference.trim().slice(0, 200) : null);

/**
 * The booking page's hook: open the clinic's payment page now (call this inside the click, or the
 * browser blocks the window) and wait for its reference.
 * @returns {Promise<string>}
 */
export function payInWindow(pageUrl, hold, due) {
  const url = new URL(pageUrl, location.href);
  for (const [key, value] of Object.entries({ hold_id: hold.hold_id, amount: String(due.amount_cents), currency: due.currency, mode: due.mode, origin: location.origin })) {
    url.searchParams.set(key, value);
  }
  const win = window.open(url.href, "booking-payment");
  if (!win) return Promise.reject(failed());
  return new Promise((resolve, reject) => {
    const done = () => {
      window.removeEventListener("message", onMessage);
      clearInterval(watch);
    };
    const onMessage = (event) => {
      if (event.origin !== url.origin || event.data?.type !== "booking-payment" || event.data.hold_id !== hold.hold_id) return;
      done();
      const reference = referenceOf(event.data);
      if (reference) resolve(reference);
      else reject(failed());
    };
    // closed without an answer: the patient gave up
    const watch = setInterval(() => {
      if (win.closed) {
        done();
        reject(failed());
      }
    }, 500);
    window.addEventListener("message", onMessage);
  });
}

/**
 * The widget's hook: the partner's endpoint, else the partner's answer to a cancelable event on the element.
 * @returns {Promise<string>}
 */
export async function payThroughPartner(element, endpoint, hold, due) {
  const body = { hold_id: hold.hold_id, amount: due.amount_cents, currency: due.currency, mode: due.mode };
  if (endpoint) {
    let data = null;
    try {
      const response = await fetch(new URL(endpoint, document.baseURI).href, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
      });
      if (response.ok) data = await response.json();
    } catch {
      // below: no reference
    }
    const reference = referenceOf(data);
    if (!reference) throw failed();
    return reference;
  }
  return new Promise((resolve, reject) => {
    const detail = {
      ...body,
      respond: (reference) => (referenceOf({ reference }) ? resolve(referenceOf({ reference })) : reject(failed())),
      fail: () => reject(failed()),
    };
    const event = new CustomEvent("booking-widget:payment", { bubbles: true, composed: true, cancelable: true, detail });
    element.dispatchEvent(event);
    if (!event.defaultPrevented) reject(new ApiError(0, "payment_unavailable", t("payment.unavailable")));
  });
}
