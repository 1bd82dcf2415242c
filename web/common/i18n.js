// One language per page: the first of the browser's languages (navigator.languages) that we ship,
// English otherwise. Every string a booking face shows goes through t(); dates and times go through
// Intl with the same locale (LOCALE), so a German page says "Heute, Freitag", never "Today, Freitag".

const TABLE = {
  en: {
    "page.title": (doctor) => `Book with ${doctor}`,
    "page.docTitle": (type, doctor) => `Book ${type} with ${doctor}`,
    "page.lead": (type, minutes) => `${type} · ${minutes} minutes · video call`,
    "page.skip": "Skip to free times",
    "page.side": "Your booking",
    "page.widgetTitle": "Book an appointment",
    "intro.heading": "How it works",
    "intro.step1": "Pick a free time below.",
    "intro.step2": "It is held for you while you enter your name and email.",
    "intro.step3": "Confirm, and you get the meeting link.",
    "slots.heading": "Pick a time",
    "slots.zone": "Times are in your time zone",
    "slots.loading": "Loading free times…",
    "alert.dismiss": "Dismiss",
    "live.connecting": "Connecting…",
    "live.live": "Live",
    "live.reconnecting": "Reconnecting…",
    "live.off": "Not live",
    "hold.heading": "This time is held for you",
    "hold.lapsedHeading": "Your hold has lapsed",
    "hold.within": "Confirm within",
    "hold.name": "Full name",
    "hold.email": "Email",
    "hold.emailHint": "The clinic uses it to reach you about this appointment; the meeting link is shown once you confirm.",
    "hold.emailHintWidget": "The clinic uses it to reach you about this appointment; the video room opens 10 minutes before the start.",
    "hold.confirm": "Confirm booking",
    "hold.confirming": "Confirming…",
    "hold.release": "Cancel hold",
    "hold.lapsed": "Your hold has lapsed, so the time is open to everyone again.",
    "hold.again": "Pick a time again",
    "form.nameMissing": "Please enter your name.",
    "form.emailMissing": "Please enter your email.",
    "form.emailBad": "Please enter an email like name@example.com.",
    "done.heading": "You are booked",
    "done.request": "Request sent",
    "done.when": "When",
    "done.with": "With",
    "done.link": "Meeting link",
    "done.linkLater": "We will email it to you before the appointment.",
    "done.widgetLink": "Opens 10 minutes before the start; the clinic sends you the way in",
    "done.pending": (email) => `The clinic still has to approve this appointment; we will write to ${email}.`,
    "done.sent": (email) => `A confirmation is on its way to ${email}.`,
    "done.another": "Book another time",
    "status.holding": (time) => `Holding ${time}…`,
    "status.held": (span) => `${span} is held for you. Enter your name and email to confirm.`,
    "status.taken": "The time you were on was just taken by someone else.",
    "status.lapsed": "Your hold lapsed, so the time is open to everyone again.",
    "status.confirming": "Confirming your booking…",
    "status.booked": (span) => `Booked: ${span}.`,
    "status.released": "Hold cancelled. The time is free again.",
    "status.paying": "Arranging the payment…",
    "error.load": "We could not load the free times.",
    "error.slot_taken": "Someone was faster: that time was just taken. Please pick another one.",
    "error.hold_expired": "Your hold lapsed before you confirmed, so the time is open to everyone again. Please pick a time again.",
    "error.not_bookable": "That time can no longer be booked. Please pick another one.",
    "error.network": "We could not reach the clinic. Please check your connection and try again.",
    "error.rate_limited": "Too many tries in a short time. Please wait a moment and try again.",
    "error.too_many_holds": "You are already holding as many times as allowed. Confirm one or let one go first.",
    "error.too_many_bookings": "Too many bookings came from this connection. Please contact the clinic to book more.",
    "error.session": "Your booking session ended. Please reload the page and try again.",
    "error.siteSession": "Your booking session on this website ended. Please reload the page and try again.",
    "error.origin_not_allowed": "This website may not book with this clinic yet. Please book on the clinic's own page.",
    "error.token_unavailable": "We could not start your booking on this website. Please reload the page and try again.",
    "error.generic": "Something went wrong on our side. Please try again.",
    "error.payment_failed": "We could not arrange the payment. Please try again.",
    "error.payment_unavailable": "This appointment asks for a payment, and this page cannot take one. Please contact the clinic.",
    "error.payment_required": "This appointment asks for a payment before it can be confirmed.",
    "error.startGone": "The time in your link is no longer free. Please pick another one.",
    "error.notSetUp": (missing) => `This booking widget is not set up: ${missing} missing.`,
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
    "page.title": (doctor) => `Termin bei ${doctor} buchen`,
    "page.docTitle": (type, doctor) => `${type} bei ${doctor} buchen`,
    "page.lead": (type, minutes) => `${type} · ${minutes} Minuten · Videosprechstunde`,
    "page.skip": "Zu den freien Terminen springen",
    "page.side": "Ihre Buchung",
    "page.widgetTitle": "Termin buchen",
    "intro.heading": "So funktioniert es",
    "intro.step1": "Wählen Sie einen freien Termin.",
    "intro.step2": "Er wird für Sie reserviert, während Sie Namen und E-Mail-Adresse eingeben.",
    "intro.step3": "Bestätigen Sie, und Sie erhalten den Link zur Sprechstunde.",
    "slots.heading": "Termin wählen",
    "slots.zone": "Zeiten in Ihrer Zeitzone",
    "slots.loading": "Freie Termine werden geladen…",
    "alert.dismiss": "Schließen",
    "live.connecting": "Verbinde…",
    "live.live": "Live",
    "live.reconnecting": "Verbinde neu…",
    "live.off": "Nicht live",
    "hold.heading": "Dieser Termin ist für Sie reserviert",
    "hold.lapsedHeading": "Ihre Reservierung ist abgelaufen",
    "hold.within": "Bestätigen Sie innerhalb von",
    "hold.name": "Vollständiger Name",
    "hold.email": "E-Mail-Adresse",
    "hold.emailHint": "Die Praxis erreicht Sie darüber zu diesem Termin; den Link zur Sprechstunde sehen Sie nach dem Bestätigen.",
    "hold.emailHintWidget": "Die Praxis erreicht Sie darüber zu diesem Termin; der Videoraum öffnet 10 Minuten vor Beginn.",
    "hold.confirm": "Buchung bestätigen",
    "hold.confirming": "Wird bestätigt…",
    "hold.release": "Reservierung aufheben",
    "hold.lapsed": "Ihre Reservierung ist abgelaufen; der Termin ist wieder für alle frei.",
    "hold.again": "Erneut einen Termin wählen",
    "form.nameMissing": "Bitte geben Sie Ihren Namen ein.",
    "form.emailMissing": "Bitte geben Sie Ihre E-Mail-Adresse ein.",
    "form.emailBad": "Bitte geben Sie eine E-Mail-Adresse wie name@example.com ein.",
    "done.heading": "Sie sind gebucht",
    "done.request": "Anfrage gesendet",
    "done.when": "Wann",
    "done.with": "Bei",
    "done.link": "Link zur Sprechstunde",
    "done.linkLater": "Wir schicken ihn Ihnen vor dem Termin per E-Mail.",
    "done.widgetLink": "Öffnet 10 Minuten vor Beginn; die Praxis schickt Ihnen den Zugang",
    "done.pending": (email) => `Die Praxis muss diesen Termin noch bestätigen; wir schreiben an ${email}.`,
    "done.sent": (email) => `Eine Bestätigung ist unterwegs an ${email}.`,
    "done.another": "Einen weiteren Termin buchen",
    "status.holding": (time) => `${time} wird reserviert…`,
    "status.held": (span) => `${span} ist für Sie reserviert. Geben Sie Namen und E-Mail-Adresse ein, um zu bestätigen.`,
    "status.taken": "Der Termin, auf dem Sie waren, wurde gerade von jemand anderem genommen.",
    "status.lapsed": "Ihre Reservierung ist abgelaufen; der Termin ist wieder für alle frei.",
    "status.confirming": "Ihre Buchung wird bestätigt…",
    "status.booked": (span) => `Gebucht: ${span}.`,
    "status.released": "Reservierung aufgehoben. Der Termin ist wieder frei.",
    "status.paying": "Die Zahlung wird veranlasst…",
    "error.load": "Die freien Termine konnten nicht geladen werden.",
    "error.slot_taken": "Jemand war schneller: Dieser Termin wurde gerade vergeben. Bitte wählen Sie einen anderen.",
    "error.hold_expired": "Ihre Reservierung ist vor dem Bestätigen abgelaufen; der Termin ist wieder für alle frei. Bitte wählen Sie erneut.",
    "error.not_bookable": "Dieser Termin kann nicht mehr gebucht werden. Bitte wählen Sie einen anderen.",
    "error.network": "Die Praxis ist nicht erreichbar. Bitte prüfen Sie Ihre Verbindung und versuchen Sie es erneut.",
    "error.rate_limited": "Zu viele Versuche in kurzer Zeit. Bitte warten Sie einen Moment.",
    "error.too_many_holds": "Sie haben bereits so viele Termine reserviert wie erlaubt. Bestätigen Sie einen oder geben Sie einen frei.",
    "error.too_many_bookings": "Von dieser Verbindung kamen zu viele Buchungen. Bitte wenden Sie sich an die Praxis.",
    "error.session": "Ihre Buchungssitzung ist abgelaufen. Bitte laden Sie die Seite neu.",
    "error.siteSession": "Ihre Buchungssitzung auf dieser Website ist abgelaufen. Bitte laden Sie die Seite neu.",
    "error.origin_not_allowed": "Diese Website darf noch nicht bei dieser Praxis buchen. Bitte buchen Sie auf der Seite der Praxis.",
    "error.token_unavailable": "Die Buchung auf dieser Website konnte nicht gestartet werden. Bitte laden Sie die Seite neu.",
    "error.generic": "Bei uns ist etwas schiefgegangen. Bitte versuchen Sie es erneut.",
    "error.payment_failed": "Die Zahlung konnte nicht veranlasst werden. Bitte versuchen Sie es erneut.",
    "error.payment_unavailable": "Für diesen Termin ist eine Zahlung fällig, die diese Seite nicht annehmen kann. Bitte wenden Sie sich an die Praxis.",
    "error.payment_required": "Für diesen Termin ist vor dem Bestätigen eine Zahlung fällig.",
    "error.startGone": "Der Termin aus Ihrem Link ist nicht mehr frei. Bitte wählen Sie einen anderen.",
    "error.notSetUp": (missing) => `Dieses Buchungs-Widget ist nicht eingerichtet: ${missing} fehlt.`,
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
    "prefs.doctorZone": (zone) => `${zone} (Zeitzone der Praxis)`,
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

/**
 * Put the page's language on its static text: every element with `data-t="key"` gets that
 * string; `data-t-label="key"` sets its aria-label. Works on a document or a shadow root.
 */
export function translate(root) {
  for (const node of root.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  for (const node of root.querySelectorAll("[data-t-label]")) node.setAttribute("aria-label", t(node.dataset.tLabel));
}

/** The booking faces' explanation of a failed call, in the page's language. */
export function explainIn(error, messages = {}) {
  const known = messages[error.code] || t(`error.${error.code}`);
  if (known && known !== `error.${error.code}`) return known;
  if (LANG === "en" && error.status && error.status < 500 && error.detail) return error.detail;
  return t("error.generic");
}

/** The live indicator's words in the page's language (common/stream.js showLiveState). */
export const LIVE_LABELS = Object.fromEntries(["connecting", "live", "reconnecting", "off"].map((state) => [state, t(`live.${state}`)]));
