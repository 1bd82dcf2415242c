// The front desk: sign in with a gk_… key (or the platform token and an organisation's slug or
// id); the organisation's live holds (Release), booking for a patient at any doctor's free time
// (inside the notice only with an explicit override) and "meet now". Live over one stream of all
// its doctors' slot events (polling while it is down).

import { BookForm } from "./book.js";
import { HoldList } from "./holds.js";
import { MeetNow } from "./meet.js";
import { coalesce, fieldError } from "../common/dom.js";
import { Gateway, explain } from "../common/http.js";
import { Notice } from "../common/notice.js";
import { StaffSession, pastedToken } from "../common/session.js";
import { watchDoctors } from "../common/stream.js";
import { Clock, browserZone } from "../common/time.js";

const $ = (id) => document.getElementById(id);
const session = new StaffSession("gateway.desk");
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
  for (const id of ["app", "sign-out", "sections"]) $(id).hidden = true;
  $("signin").hidden = false;
  document.title = "Front desk";
  $("page-title").textContent = "Front desk";
  $("who").textContent = "Sign in with your organisation's admin key.";
  notice.say("");
  notice.clear();
}

async function open(named) {
  const desk = await api.get("/v1/admin/desk", { organisation: named });
  const organisationId = desk.organisation.id;
  const clock = new Clock(browserZone());
  const doctors = new Map(desk.doctors.map((d) => [d.id, d]));
  const types = new Map(desk.appointment_types.map((t) => [t.id, t]));
  session.save({ ...session.load(), organisation: named || "" });
  document.title = `${desk.organisation.name}: front desk`;
  $("page-title").textContent = `${desk.organisation.name}: front desk`;
  $("who").textContent = `${doctors.size} doctor${doctors.size === 1 ? "" : "s"} · holds and free times update live.`;
  for (const node of document.querySelectorAll(".desk-zone")) node.textContent = clock.zoneLabel();

  const ctx = { api, clock, doctors, types, notice, organisationId, onError: fail };
  const holds = new HoldList($("hold-list"), ctx);
  const book = new BookForm(ctx);
  new MeetNow(ctx);

  const onChange = coalesce(() => Promise.all([holds.refresh(), book.refresh()]));
  const watches = watchDoctors(api, [...doctors.keys()], onChange, $("live"));

  $("signin").hidden = true;
  for (const id of ["app", "sign-out", "sections"]) $(id).hidden = false;
  running = () => {
    holds.stop();
    for (const watch of watches) watch.stop();
  };
  await Promise.all([holds.refresh(), book.firstDay()]);
  for (const watch of watches) watch.start();
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
  if (me.role !== "admin" && me.role !== "platform") {
    session.clear();
    fieldError("token", "This page needs an organisation admin key (gk_…) or the platform token. Doctors use /doctor.");
    return;
  }
  if (me.role === "platform" && !named) {
    session.clear();
    fieldError("organisation", "With the platform token, please give the organisation's slug or id too.");
    return;
  }
  fieldError("token", "");
  fieldError("organisation", "");
  try {
    await open(named);
    $("token").value = ""; // signed in: the key is kept in this tab's session only
    $("holds-heading").focus();
  } catch (error) {
    if (error.status === 404 || error.status === 403) {
      const text = error.status === 404 ? "No organisation has this slug or id." : "This key may not run that organisation's desk.";
      signOut();
      fieldError("organisation", text);
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
  if (!token) fieldError("token", "Please paste your admin key or the platform token.");
  else signIn(token, named);
});
$("sign-out").addEventListener("click", () => {
  signOut();
  notice.say("Signed out. Your key is forgotten in this tab.");
  $("token").focus();
});

const saved = session.load();
if (saved) signIn(saved.token, saved.organisation || "");
