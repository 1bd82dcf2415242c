// Building DOM without innerHTML: el("button", {type: "button", className: "x"}, "text").
// `dataset` and `attrs` props set data-* and other attributes (aria-*, for, …).

export function el(tag, props = {}, ...children) {
  const { dataset, attrs, ...rest } = props;
  const node = Object.assign(document.createElement(tag), rest);
  if (dataset) Object.assign(node.dataset, dataset);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

/** The element that has the keyboard focus, looking inside shadow roots. */
export function focusedIn(root) {
  return root.getRootNode().activeElement || null;
}

/** Run `task` now, and once more after it if asked again while it ran (never two at once). */
export function coalesce(task) {
  let running = null;
  let again = false;
  const run = () => {
    if (running) {
      again = true;
      return running;
    }
    running = Promise.resolve()
      .then(task)
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          run();
        }
      });
    return running;
  };
  return run;
}

/** Show or clear a field's error (the element `<id>-error`), tying it to the field for assistive
 * technology; the field takes the focus when there is an error, unless told not to. */
export function fieldError(id, text, { focus = true } = {}) {
  const node = document.getElementById(`${id}-error`);
  const field = document.getElementById(id);
  node.textContent = text;
  node.hidden = !text;
  field.setAttribute("aria-invalid", String(Boolean(text)));
  if (text && focus) field.focus();
}
