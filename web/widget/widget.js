/*
 * The booking widget's loader. A partner site adds one line where the widget should appear:
 *
 *   <script src="https://GATEWAY/widget.js" data-doctor="DOCTOR_ID"
 *           data-appointment-type="TYPE_ID" data-token-endpoint="/booking-token"></script>
 *
 * or loads this script once and places <booking-widget data-doctor=… data-appointment-type=…
 * data-token-endpoint=…></booking-widget> elements itself. `data-target="#css-selector"` puts the
 * widget into that element instead of right after the script.
 *
 * A classic script, not a module: only a classic script can see its own src (document.currentScript),
 * which names the gateway to talk to. The widget itself is ES modules from the same gateway.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var gateway = new URL(script.src, document.baseURI).origin;
  var ready = import(gateway + "/static/widget/element.js");
  ready.catch(function (error) {
    console.error("booking widget: could not load from " + gateway, error);
  });
  if (!script.dataset.doctor) return; // loader only: the page places <booking-widget> itself

  var widget = document.createElement("booking-widget");
  ["doctor", "appointmentType", "tokenEndpoint", "paymentEndpoint"].forEach(function (key) {
    if (script.dataset[key]) widget.dataset[key] = script.dataset[key];
  });
  var target = script.dataset.target ? document.querySelector(script.dataset.target) : null;
  if (target) target.append(widget);
  else script.after(widget);
})();
