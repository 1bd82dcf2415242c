// The organisation's overview: sign in with a gk_… key (or the platform token and an organisation
// slug or id); appointments across the organisation (filters, paging, details, cancel, rebook), the
// doctors (added, edited, their sign-in tokens; weekly hours read-only), the services they offer,
// booking secrets, the clinic's settings. Live over one stream of all its doctors' slot events.

import { Clock, browserZone } from "../common/time.js";
import { DetailDialog } from "./detail.js";
import { DoctorForms } from "./doctorform.js";
import { DoctorList } from "./doctors.js";
import { AppointmentList } from "./list.js";
import { Secrets } from "./secrets.js";
import { Services } from "./services.js";
import { Settings } from "./settings.js";
import { Gateway, explain } from "../common/http.js";
import { Notice } from "../common/notice.js";
import { StaffSession, pastedToken } from "../common/session.js";
import { el, fieldError } from "../common/dom.js";
import { watchDoctors } from "../common/stream.js";

const $ = (id) => document.getElementById(id);
const session = new StaffSession("gateway.admin");
const notice = new Notice();
const api = new Gateway({ token: () => session.load()?.token ?? null });
let running = null;

function fail(error) {
  if (error.status === 401) {
    signOut();
    fieldError("token", explain(error));
    return;
  }
  notice.alert(explain(error));
}

function signOut() {
  running?.();
  running = null;
  session.clear();
  $("doctor-manage").hidden = true;
  $("token-value").textContent = ""; // a token shown once leaves the page with the admin
  for (const id of ["app", "sign-out", "sections"]) $(id).hidden = true;
  $("signin").hidden = false;
  $("page-title").textContent = "Clinic overview";
  $("who").textContent = "Sign in with your organisation's admin key.";
  notice.say("");
  notice.clear();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Which organisation the token may run: its own (gk_…), or the one named by slug or id (platform). */
async function organisationOf(me, named) {
  if (me.role === "admin") return me.organisation_id;
  if (me.role !== "platform") {
    fieldError("token", "This page needs an organisation admin key (gk_…) or the platform token. Doctors use /doctor.");
    return null;
  }
  if (!named) {
    fieldError("organisation", "With the platform token, please give the organisation's slug (or its id) too.");
    return null;
  }
  if (UUID.test(named)) return named;
  try {
    return (await api.get(`/v1/admin/organisations/by-slug/${encodeURIComponent(named)}`)).id;
  } catch (error) {
    fieldError("organisation", error.status === 404 ? `No organisation has the slug “${named}”. Please check it.` : explain(error));
    return null;
  }
}

async function open(organisationId) {
  const org = `/v1/organisations/${encodeURIComponent(organisationId)}`;
  const [organisation, doctorList, typeList] = await Promise.all([
    api.get(`/v1/admin/organisations/${encodeURIComponent(organisationId)}`),
    api.get(`${org}/doctors`),
    api.get(`${org}/appointment-types`),
  ]);
  const clock = new Clock(browserZone());
  const doctors = new Map(doctorList.map((d) => [d.id, d]));
  const types = new Map(typeList.map((t) => [t.id, t]));
  document.title = `${organisation.name}: overview`;
  $("page-title").textContent = organisation.name;
  $("zone").textContent = clock.zoneLabel();
  for (const node of document.querySelectorAll(".admin-zone")) node.textContent = clock.zoneLabel();

  const ctx = { api, clock, doctors, types, notice, organisationId, onError: fail };
  const detail = new DetailDialog({ ...ctx, onChanged: () => list.refresh() });
  const list = new AppointmentList({ ...ctx, onOpen: (id) => detail.open(id) });
  const forms = new DoctorForms({ ...ctx, onDoctorsChanged: () => doctorsChanged() });
  const doctorSection = new DoctorList($("doctor-list"), { ...ctx, onManage: (doctor) => forms.open(doctor) });
  doctorSection.render();
  const services = new Services({ ...ctx, onTypesChanged: () => doctorSection.render() });
  services.stopEditing({ focus: false });
  services.render();
  new Secrets(ctx).refresh();
  new Settings(ctx).show(organisation);
  countDoctors(doctors);

  // One stream per 50 doctors (the gateway's limit): any slot event may be a booking, a
  // cancellation or a move somewhere in the list.
  const onChange = () => {
    list.refresh();
    detail.refresh();
  };
  let followed = [...doctors.keys()];
  let watches = watchDoctors(api, followed, onChange, $("live"));

  /** A doctor was added or edited: the lists show them now, and a new one is followed live too. */
  function doctorsChanged() {
    doctorSection.render();
    services.render(); // the doctors who offer each service, and the boxes to choose them
    fillDoctorFilter(doctors);
    countDoctors(doctors);
    list.refresh(); // names in the table
    if (followed.length === doctors.size) return; // an edit: the same doctors are followed
    // the streams name their doctors in the URL: the old ones stop, new ones follow everyone
    for (const watch of watches) watch.stop();
    followed = [...doctors.keys()];
    watches = watchDoctors(api, followed, onChange, $("live"));
    for (const watch of watches) watch.start();
  }

  $("signin").hidden = true;
  for (const id of ["app", "sign-out", "sections"]) $(id).hidden = false;
  running = () => {
    for (const watch of watches) watch.stop();
    if ($("detail").open) $("detail").close();
  };
  list.refresh();
  for (const watch of watches) watch.start();
}

function countDoctors(doctors) {
  $("who").textContent = `${doctors.size} doctor${doctors.size === 1 ? "" : "s"} · appointments update live.`;
}

/** The appointments filter's doctors, keeping the one chosen. */
function fillDoctorFilter(doctors) {
  const select = $("filter-doctor");
  const chosen = select.value;
  select.replaceChildren(
    el("option", { value: "" }, "All doctors"),
    ...[...doctors.values()].map((d) => el("option", { value: d.id, textContent: d.name })),
  );
  select.value = chosen;
}

async function signIn(token, named) {
  session.save({ token });
  let me;
  try {
    me = await api.get("/v1/me");
  } catch (error) {
    session.clear();
    fieldError("token", error.status === 401 ? "This key is unknown or was revoked. Please check it and try again." : explain(error));
    return;
  }
  const organisationId = await organisationOf(me, named);
  if (!organisationId) {
    session.clear();
    return;
  }
  session.save({ token, organisationId });
  fieldError("token", "");
  fieldError("organisation", "");
  try {
    await open(organisationId);
    $("token").value = ""; // signed in: the key is kept in this tab's session only
    $("appointments-heading").focus();
  } catch (error) {
    if (error.status === 404 || error.code === "validation_error") {
      signOut();
      fieldError("organisation", "No organisation has this id. Please check it, or give the organisation's slug.");
    } else {
      fail(error);
    }
  }
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = pastedToken($("token"));
  const named = $("organisation").value.trim();
  // what was typed stays until the sign-in works, so a mistake can be corrected
  if (!token) fieldError("token", "Please paste your admin key.");
  else signIn(token, named);
});
$("sign-out").addEventListener("click", () => {
  signOut();
  notice.say("Signed out. Your key is forgotten in this tab.");
  $("token").focus();
});

const saved = session.load();
if (saved) signIn(saved.token, saved.organisationId || "");
