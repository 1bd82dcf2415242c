// The widget's markup, inside its shadow root (ids are private to it). Static text only: names and
// times are filled in with textContent.

export const skeleton = (stylesheet) => `
<link rel="stylesheet" href="${stylesheet}">
<section class="widget" aria-labelledby="title" hidden>
  <header class="head">
    <h2 id="title" data-t="page.widgetTitle">Book an appointment</h2>
    <p class="lead" id="lead"></p>
  </header>
  <p id="status" class="status" role="status" aria-live="polite"></p>
  <div id="alert" class="alert" role="alert" hidden>
    <p id="alert-text"></p>
    <button type="button" id="alert-close" class="link-button" data-t="alert.dismiss">Dismiss</button>
  </div>

  <div id="hold" class="view" hidden>
    <h3 id="hold-heading" tabindex="-1" data-t="hold.heading">This time is held for you</h3>
    <p class="held-time" id="hold-time"></p>
    <p class="countdown" id="countdown-line">
      <span data-t="hold.within">Confirm within</span> <span id="countdown" class="clock" role="timer" aria-live="off">--:--</span>
    </p>
    <div id="payment" class="payment-note" hidden>
      <h4 data-t="payment.heading">Payment</h4>
      <p id="payment-text"></p>
    </div>
    <form id="confirm-form" novalidate>
      <div class="field">
        <label for="name" data-t="hold.name">Full name</label>
        <input id="name" name="name" autocomplete="name" required maxlength="200" aria-describedby="name-error">
        <p class="field-error" id="name-error" hidden></p>
      </div>
      <div class="field">
        <label for="email" data-t="hold.email">Email</label>
        <input id="email" name="email" type="email" autocomplete="email" required maxlength="254"
               aria-describedby="email-hint email-error">
        <p class="hint" id="email-hint" data-t="hold.emailHintWidget">The clinic uses it to reach you about this appointment; the video room opens 10 minutes before the start.</p>
        <p class="field-error" id="email-error" hidden></p>
      </div>
      <div class="actions">
        <button type="submit" class="primary" id="confirm" data-t="hold.confirm">Confirm booking</button>
        <button type="button" class="secondary" id="release" data-t="hold.release">Cancel hold</button>
      </div>
    </form>
    <div id="lapsed" class="lapsed" hidden>
      <p data-t="hold.lapsed">Your hold has lapsed, so the time is open to everyone again.</p>
      <button type="button" class="secondary" id="lapsed-back" data-t="hold.again">Pick a time again</button>
    </div>
  </div>

  <div id="pick" class="view">
    <div class="bar">
      <h3 id="pick-heading" tabindex="-1" data-t="slots.heading">Pick a time</h3>
      <p id="live" class="live" data-state="connecting">
        <span class="dot" aria-hidden="true"></span><span class="live-label">Connecting…</span>
      </p>
    </div>
    <p class="zone"><span data-t="slots.zone">Times are in your time zone</span>: <strong id="zone"></strong></p>
    <div class="clock-prefs">
      <div class="field"><label for="zone-select" data-t="prefs.zone">Time zone</label><select id="zone-select"></select></div>
      <div class="field"><label for="cycle-select" data-t="prefs.clock">Clock</label><select id="cycle-select"></select></div>
    </div>
    <div id="days" class="days" aria-busy="true"><p class="muted" data-t="slots.loading">Loading free times…</p></div>
  </div>

  <div id="done" class="view done" hidden>
    <h3 id="done-heading" tabindex="-1" data-t="done.heading">You are booked</h3>
    <dl class="facts">
      <dt data-t="done.when">When</dt><dd id="done-time"></dd>
      <dt data-t="done.reference">Booking reference</dt><dd id="done-reference" class="reference"></dd>
      <dt data-t="done.with">With</dt><dd id="done-doctor"></dd>
      <dt data-t="done.link">Meeting link</dt><dd id="done-link"></dd>
    </dl>
    <p id="done-manage" hidden><a id="done-manage-link" target="_blank" rel="noopener" data-t="done.manage">Manage your booking (opens in a new tab)</a></p>
    <button type="button" class="secondary" id="book-another" data-t="done.another">Book another time</button>
  </div>
</section>
<p id="broken" class="alert broken" role="alert" hidden></p>
`;
