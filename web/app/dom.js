// dom.js: the only way the pages make elements. Text always goes in as
// textContent (never parsed as HTML), attributes by setAttribute, so a value
// from the server or from a field is shown as the characters it is and can
// never become markup or script. No innerHTML, outerHTML,
// insertAdjacentHTML, document.write or eval anywhere (tests/web check).

// el("p", {class: "hint", id: "x"}, "text", child, ...): an element with
// those attributes (a value of false or null leaves it out, true sets it
// empty) and children (strings become text nodes).
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
  return node;
}

// Replaces a node's children.
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

export function byId(id) {
  return document.getElementById(id);
}
