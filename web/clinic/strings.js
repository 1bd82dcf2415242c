// Every word the clinic page shows, in each language it speaks. The page uses one language: the
// first of the browser's languages it has, else English. A key missing in a language falls back
// to its English text, never to a mix within one sentence.

const STRINGS = {
  en: {
    skip: "Skip to the services",
    eyebrow: "Book an appointment",
    lead: "Choose a service, then a doctor or the first free time with any doctor.",
    loading: "Loading…",
    services_heading: "Choose a service",
    doctors_heading: "Choose a doctor",
    times_heading: "Choose a time",
    days_label: "Days with free times",
    minutes: "{n} min",
    approval: "the clinic confirms each booking",
    pay_full: "{amount}, paid when booking",
    pay_advance: "{amount}, {percent}% paid when booking",
    pay_token: "{amount} deposit when booking",
    no_services: "This clinic has no services to book online yet.",
    any_doctor: "Any doctor",
    any_doctor_hint: "See the first free times across {n} doctors",
    any_doctor_hint_one: "See the first free times",
    doctor_hint: "See {name}'s free times",
    zone: "Times are in your time zone, {zone}.",
    today: "Today",
    tomorrow: "Tomorrow",
    free_times: "free times",
    no_times: "No free times in the next two weeks. New times show up here the moment they open.",
    loading_times: "Loading free times…",
    gone: "The time you were on was just taken by someone else.",
    load_failed: "We could not load this clinic's services. Please reload the page.",
    times_failed: "We could not load the free times. Please reload the page.",
    chosen_service: "{name}: now choose a doctor.",
    live_connecting: "Connecting…",
    live_live: "Live",
    live_reconnecting: "Reconnecting…",
  },
  de: {
    skip: "Zu den Leistungen springen",
    eyebrow: "Termin buchen",
    lead: "Wählen Sie eine Leistung, dann eine Ärztin oder einen Arzt oder den ersten freien Termin bei allen.",
    loading: "Wird geladen…",
    services_heading: "Leistung wählen",
    doctors_heading: "Ärztin oder Arzt wählen",
    times_heading: "Uhrzeit wählen",
    days_label: "Tage mit freien Terminen",
    minutes: "{n} Min.",
    approval: "die Praxis bestätigt jede Buchung",
    pay_full: "{amount}, bei der Buchung zu zahlen",
    pay_advance: "{amount}, {percent} % bei der Buchung zu zahlen",
    pay_token: "{amount} Anzahlung bei der Buchung",
    no_services: "Diese Praxis bietet noch keine Online-Buchung an.",
    any_doctor: "Beliebige Ärztin / beliebiger Arzt",
    any_doctor_hint: "Die nächsten freien Termine bei {n} Ärztinnen und Ärzten",
    any_doctor_hint_one: "Die nächsten freien Termine",
    doctor_hint: "Freie Termine bei {name}",
    zone: "Die Uhrzeiten gelten in Ihrer Zeitzone, {zone}.",
    today: "Heute",
    tomorrow: "Morgen",
    free_times: "freie Termine",
    no_times: "In den nächsten zwei Wochen ist nichts frei. Neue Termine erscheinen hier sofort.",
    loading_times: "Freie Termine werden geladen…",
    gone: "Der Termin, auf dem Sie waren, wurde gerade vergeben.",
    load_failed: "Die Leistungen dieser Praxis konnten nicht geladen werden. Bitte laden Sie die Seite neu.",
    times_failed: "Die freien Termine konnten nicht geladen werden. Bitte laden Sie die Seite neu.",
    chosen_service: "{name}: Wählen Sie jetzt eine Ärztin oder einen Arzt.",
    live_connecting: "Verbinde…",
    live_live: "Live",
    live_reconnecting: "Verbinde neu…",
  },
};

/** The page's language: the first of the browser's languages we speak, else English. */
export function pickLanguage(languages = navigator.languages || [navigator.language]) {
  for (const tag of languages) {
    const base = String(tag || "").toLowerCase().split("-")[0];
    if (base in STRINGS) return base;
  }
  return "en";
}

/** `t(key, {name: …})`: the text of `key` in `language`, with `{name}` filled in. */
export function translator(language) {
  const table = STRINGS[language] || STRINGS.en;
  return (key, values = {}) =>
    (table[key] ?? STRINGS.en[key] ?? key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}
