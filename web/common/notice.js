// A page's two message areas: a polite status line (role=status) and an alert (role=alert) with
// a Dismiss button. Markup: <p id="status"> and <div id="alert"><p id="alert-text"><button id="alert-close">.

export class Notice {
  constructor(root = document) {
    this.status = root.getElementById("status");
    this.box = root.getElementById("alert");
    this.text = root.getElementById("alert-text");
    root.getElementById("alert-close").addEventListener("click", () => this.clear());
  }

  say(text) {
    this.status.textContent = text;
  }

  alert(text) {
    this.text.textContent = text;
    this.box.hidden = false;
  }

  clear() {
    this.box.hidden = true;
    this.text.textContent = "";
  }
}
