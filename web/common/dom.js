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
