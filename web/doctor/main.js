// The doctor's live schedule: sign in with a gd_… token, then today and the week, kept live over
// the doctor's event stream, with weekly hours and days off to manage.

import { Clock } from "../common/time.js";
import { Agenda } from "./agenda.js";
import { DaysOff } from "./daysoff.js";
import { AppointmentDetail } from "./detail.js";
import { HoursEditor } from "./hours.js";
import { Gateway, explain } from "../common/http.js";
import { Notice } from "../common/notice.js";
import { StaffSession, pastedToken } from "../common/session.js";
import { Watch, showLiveState } from "../common/stream.js";

const $ = (id) => document.getElementById(id);
const session = new StaffSession("gateway.doctor");
const notice = new Notice();
const api = new Gateway({ token: () => session.load()?.token ?? null });
let running = null; // what stops the signed-in page

function fail(error) {
  if (error.status === 401) {
    signOut();
    showSignInError(explain(error));
    return;
  }
  notice.alert(explain(error));
}

function showSignInError(text) {
  $("token-error").textContent = text;
  $("token-error").hidden = !text;
  $("token").setAttribute("aria-invalid", String(Boolean(text)));
  if (text) $("token").focus();
}

function signOut() {
  running?.();
  running = null;
  session.clear();
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("signin").hidden = false;
  $("page-title").textContent = "Your schedule";
  $("who").textContent = "Sign in with your doctor token to see your appointments live.";
  notice.say("");
  notice.clear();
}

async function open(me) {
  const [doctor, types] = await Promise.all([
    api.get(`/v1/doctors/${encodeURIComponent(me.doctor_id)}`),
    api.get(`/v1/organisations/${encodeURIComponent(me.organisation_id)}/appointment-types`),
  ]);
  const clock = new Clock(doctor.timezone);
  document.title = `${doctor.name}: schedule`;
  $("page-title").textContent = `${doctor.name}'s schedule`;
  $("who").textContent = `Signed in as ${doctor.name}. Changes show up here as they happen.`;
  $("zone").textContent = clock.zoneLabel();
  for (const node of document.querySelectorAll(".doctor-zone")) node.textContent = clock.zoneLabel();

  const typeNames = new Map(types.map((t) => [t.id, t.name]));
  const detail = new AppointmentDetail({ api, clock, typeNames, onChanged: () => agenda.refresh(), onError: fail });
  const agenda = new Agenda($("agenda"), { api, clock, doctor, typeNames, notice, onError: fail, onDetails: (id) => detail.open(id) });
  const hours = new HoursEditor({ api, doctorId: doctor.id, notice, onError: fail });
  const daysOff = new DaysOff({ api, doctor, notice, onError: fail, onLoaded: (overrides) => agenda.showOverrides(overrides) });
  // Any slot event may be a booking, a cancellation or a move: ask again. A resync (or a
  // reconnect, event null) may also mean changed hours or days off.
  const watch = new Watch(`/v1/doctors/${encodeURIComponent(doctor.id)}/events`, {
    onChange: (event) => {
      agenda.refresh();
      detail.refresh();
      if (!event || event.type === "resync") {
        hours.refresh();
        daysOff.refresh();
      }
    },
    onState: (state) => showLiveState($("live"), state),
  });

  $("signin").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  running = () => {
    watch.stop();
    agenda.stop();
    if ($("detail").open) $("detail").close();
  };
  agenda.refresh();
  watch.start(); // and again once the stream is open: nothing in between is missed
  hours.refresh();
  daysOff.refresh();
}

async function signIn(token) {
  session.save({ token });
  let me;
  try {
    me = await api.get("/v1/me");
  } catch (error) {
    session.clear();
    showSignInError(error.status === 401 ? "This token is unknown or was revoked. Please check it and try again." : explain(error));
    return;
  }
  if (me.role !== "doctor") {
    session.clear();
    showSignInError("This is not a doctor's token (they start with gd_). Admins use the admin page, /admin.");
    return;
  }
  showSignInError("");
  $("token").value = ""; // signed in: the token is kept in this tab's session only
  try {
    await open(me);
    $("schedule-heading").focus();
  } catch (error) {
    fail(error);
  }
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = pastedToken($("token"));
  // what was typed stays until the sign-in works, so a mistake can be corrected
  if (!token) showSignInError("Please paste your doctor token.");
  else signIn(token);
});
$("sign-out").addEventListener("click", () => {
  signOut();
  notice.say("Signed out. Your token is forgotten in this tab.");
  $("token").focus();
});

const saved = session.load();
if (saved) signIn(saved.token);
