// One language per page: the first of the browser's languages (navigator.languages) that we ship,
// English otherwise. Every string a booking face shows goes through t(); dates and times go through
// Intl with the same locale (LOCALE), so a German page says "Heute, Freitag", never "Today, Freitag".

const TABLE = {
  en: {
    "month.previous": "Previous month",
    "month.next": "Next month",
    "month.legend": "Days with free times are marked.",
    "day.free": (n) => (n === 1 ? "1 free time" : `${n} free times`),
    "day.none": "No free times",
    "day.empty": "No free times on this day. Days with free times are marked in the calendar.",
    "day.emptyAll": "No free times in the next weeks. New times show up here the moment they open.",
    "day.today": "Today",
    "day.tomorrow": "Tomorrow",
    "slot.held": "held for you",
    "slot.range": (from, to) => `${from} to ${to}`,
    "prefs.zone": "Time zone",
    "prefs.clock": "Clock",
    "prefs.h24": "24-hour",
    "prefs.h12": "12-hour",
    "prefs.doctorZone": (zone) => `${zone} (the doctor's)`,
    "load.retry": "Try again",
    "done.reference": "Booking reference",
    "done.manage": "Manage your booking (opens in a new tab)",
    "payment.heading": "Payment",
    "payment.token": "a booking deposit",
    "payment.advance": "an advance payment",
    "payment.full": "the full fee",
    "payment.asks": (amount, mode) => `This appointment asks for ${mode}: ${amount}. It is paid when you confirm.`,
    "payment.failed": "We could not arrange the payment. Please try again.",
    "payment.unavailable": "This appointment asks for a payment, and this page cannot take one. Please contact the clinic.",
  },
  de: {
    "month.previous": "Vorheriger Monat",
    "month.next": "Nächster Monat",
    "month.legend": "Tage mit freien Terminen sind markiert.",
    "day.free": (n) => (n === 1 ? "1 freier Termin" : `${n} freie Termine`),
    "day.none": "Keine freien Termine",
    "day.empty": "An diesem Tag gibt es keine freien Termine. Tage mit freien Terminen sind im Kalender markiert.",
    "day.emptyAll": "In den nächsten Wochen gibt es keine freien Termine. Neue Termine erscheinen hier, sobald sie frei werden.",
    "day.today": "Heute",
    "day.tomorrow": "Morgen",
    "slot.held": "für Sie reserviert",
    "slot.range": (from, to) => `${from} bis ${to}`,
    "prefs.zone": "Zeitzone",
    "prefs.clock": "Uhrzeit",
    "prefs.h24": "24 Stunden",
    "prefs.h12": "12 Stunden",
    "prefs.doctorZone": (zone) => `${zone} (die der Ärztin/des Arztes)`,
    "load.retry": "Erneut versuchen",
    "done.reference": "Buchungsnummer",
    "done.manage": "Buchung verwalten (öffnet einen neuen Tab)",
    "payment.heading": "Zahlung",
    "payment.token": "eine Anzahlung",
    "payment.advance": "eine Vorauszahlung",
    "payment.full": "die volle Gebühr",
    "payment.asks": (amount, mode) => `Für diesen Termin ist ${mode} fällig: ${amount}. Sie wird beim Bestätigen bezahlt.`,
    "payment.failed": "Die Zahlung konnte nicht veranlasst werden. Bitte versuchen Sie es erneut.",
    "payment.unavailable": "Für diesen Termin ist eine Zahlung fällig, die diese Seite nicht annehmen kann. Bitte wenden Sie sich an die Praxis.",
  },
};

export const LANGUAGES = Object.keys(TABLE);

/** The first of the browser's languages we ship ("de-AT" → "de"), else English. */
export function pickLanguage(preferred = globalThis.navigator?.languages || [globalThis.navigator?.language || "en"]) {
  for (const tag of preferred) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (TABLE[base]) return base;
  }
  return "en";
}

export const LANG = pickLanguage();
/** The locale Intl formats with: the browser's own tag when it is in our language ("de-AT"), else the language. */
export const LOCALE = (globalThis.navigator?.languages || []).find((tag) => tag.toLowerCase().split("-")[0] === LANG) || LANG;

/** A string of the page's language; a function entry takes arguments. */
export function t(key, ...args) {
  const entry = TABLE[LANG][key] ?? TABLE.en[key] ?? key;
  return typeof entry === "function" ? entry(...args) : entry;
}

/** A string in the language of `locale` (a staff page passes none: English). */
export function wordIn(locale, key) {
  const entry = TABLE[pickLanguage(locale ? [locale] : [])][key] ?? TABLE.en[key];
  return typeof entry === "function" ? entry() : entry;
}
