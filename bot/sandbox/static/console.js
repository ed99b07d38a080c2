// The sandbox console: renders what the Slack stand-in holds, from Block Kit, and sends commands and clicks
// to the console backend, which plays Slack towards the bot. Every piece of text from the bot goes into the
// page through text nodes, never as an HTML string, so a message cannot inject markup.
"use strict";

const params = new URLSearchParams(location.search);
let currentUser = params.get("user") || "";
let currentChannel = params.get("channel") || "C0HUBOPS01";
let state = null;
let renderedKey = "";
let modalErrors = {};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

// Slack escapes only these three in message text.
function unescapeSlack(text) {
  return String(text).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function userName(id) {
  if (state && id === state.bot.id) return state.bot.name;
  const user = state && state.users.find((u) => u.id === id);
  return user ? user.name : id;
}

function safeHref(url) {
  return /^(https?:|mailto:)/i.test(url) ? url : null;
}

// <…> tokens: links, user and channel mentions, special mentions.
function renderAngle(inner) {
  const [target, label] = inner.split("|", 2);
  if (/^@[UW]/.test(target)) return el("span", { class: "mention" }, "@" + userName(target.slice(1)));
  if (target.startsWith("#C")) return el("span", { class: "mention" }, "#" + (label || target.slice(1)));
  if (target.startsWith("!subteam^")) return el("span", { class: "mention" }, label || "@" + target.slice(9));
  if (target.startsWith("!")) return el("span", { class: "broadcast" }, "<" + unescapeSlack(inner) + ">");
  const href = safeHref(unescapeSlack(target));
  const text = unescapeSlack(label || target);
  return href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, text) : document.createTextNode(text);
}

// Inline mrkdwn. Markers only count at word boundaries, as in Slack (snake_case stays plain).
const INLINE = /`([^`\n]+)`|<([^<>\n]+)>|(?<!\w)\*([^*\n]+)\*(?!\w)|(?<!\w)_([^_\n]+)_(?!\w)|(?<!\w)~([^~\n]+)~(?!\w)/g;

function renderInline(text, parent) {
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) parent.append(unescapeSlack(text.slice(last, m.index)));
    if (m[1] !== undefined) parent.append(el("code", {}, unescapeSlack(m[1])));
    else if (m[2] !== undefined) parent.append(renderAngle(m[2]));
    else {
      const node = el(m[3] !== undefined ? "b" : m[4] !== undefined ? "i" : "s");
      renderInline(m[3] ?? m[4] ?? m[5], node);
      parent.append(node);
    }
    last = m.index + m[0].length;
  }
  if (last < text.length) parent.append(unescapeSlack(text.slice(last)));
}

function renderMrkdwn(text) {
  const root = el("div", { class: "mrkdwn" });
  const parts = String(text || "").split("```");
  parts.forEach((part, i) => {
    if (i % 2 === 1) {
      root.append(el("pre", {}, unescapeSlack(part.replace(/^\n/, ""))));
      return;
    }
    part.split("\n").forEach((line, j, lines) => {
      renderInline(line, root);
      if (j < lines.length - 1) root.append(el("br"));
    });
  });
  return root;
}

function renderText(obj) {
  if (!obj) return document.createTextNode("");
  return obj.type === "mrkdwn" ? renderMrkdwn(obj.text) : el("span", {}, String(obj.text ?? ""));
}

function renderButton(button, ctx) {
  const style = button.style === "primary" || button.style === "danger" ? button.style : "";
  const node = el("button", {
    class: `btn ${style}`,
    type: "button",
    "data-testid": `button-${button.action_id}`,
    "data-action-id": button.action_id,
  }, String(button.text?.text ?? ""));
  node.addEventListener("click", async () => {
    if (button.confirm) {
      const c = button.confirm;
      const question = [c.title?.text, c.text?.text].filter(Boolean).join("\n\n");
      if (!window.confirm(question)) return;
    }
    if (button.url && safeHref(button.url)) window.open(button.url, "_blank", "noopener");
    node.disabled = true;
    await post("/api/action", {
      user: currentUser, channel: ctx.channel, message_ts: ctx.ts, ephemeral: ctx.ephemeral,
      action_id: button.action_id, block_id: ctx.blockId, value: button.value ?? "",
    }, `clicked "${button.text?.text ?? button.action_id}"`);
    node.disabled = false;
  });
  return node;
}

function renderElement(element, ctx) {
  if (element.type === "button") return renderButton(element, ctx);
  return el("span", { class: "unsupported" }, `[${element.type} not shown in the sandbox]`);
}

function renderBlock(block, ctx) {
  const blockCtx = { ...ctx, blockId: block.block_id };
  switch (block.type) {
    case "header":
      return el("div", { class: "block block-header" }, String(block.text?.text ?? ""));
    case "divider":
      return el("hr", { class: "divider" });
    case "section": {
      const main = el("div", { class: "section-main" }, block.text ? renderText(block.text) : null);
      if (block.fields) main.append(el("div", { class: "fields" }, block.fields.map(renderText)));
      const accessory = block.accessory ? renderElement(block.accessory, blockCtx) : null;
      return el("div", { class: "block section-row" }, main, accessory);
    }
    case "context":
      return el("div", { class: "block context" }, (block.elements || []).map((e) =>
        e.type === "image" ? el("span", {}, `[${e.alt_text || "image"}]`) : renderText(e)));
    case "actions":
      return el("div", { class: "block actions" }, (block.elements || []).map((e) => renderElement(e, blockCtx)));
    case "image":
      return el("div", { class: "block unsupported" }, `[image: ${block.alt_text || ""}]`);
    case "input":
      return renderInput(block);
    default:
      return el("div", { class: "block unsupported" }, `[${block.type} block]`);
  }
}

function renderContent(item, ctx) {
  const parts = [];
  if (item.blocks && item.blocks.length) parts.push(...item.blocks.map((b) => renderBlock(b, ctx)));
  else if (item.text) parts.push(renderMrkdwn(item.text));
  for (const attachment of item.attachments || []) {
    const node = el("div", { class: "attachment", style: attachment.color ? `border-left-color: ${/^#?[0-9a-f]{3,6}$/i.test(attachment.color) ? attachment.color : "#ddd"}` : null });
    if (attachment.blocks) node.append(...attachment.blocks.map((b) => renderBlock(b, ctx)));
    else node.append(renderMrkdwn(attachment.text || attachment.fallback || ""));
    parts.push(node);
  }
  for (const file of item.files || []) {
    parts.push(el("div", { class: "file", "data-testid": "file" }, "📄 ",
      el("a", { href: `/api/file/${encodeURIComponent(file.id)}` }, String(file.title || file.name))));
  }
  return parts;
}

function renderMessage(item, channelId) {
  const ephemeral = Boolean(item.is_ephemeral);
  const system = item.source === "slack";
  const author = system ? "Slackbot" : userName(item.user);
  const when = new Date(parseFloat(item.ts) * 1000).toLocaleTimeString();
  const ctx = { channel: channelId, ts: item.ts, ephemeral };
  const classes = ["message", ephemeral ? "ephemeral" : "", system ? "system" : "",
    item.thread_ts && item.thread_ts !== item.ts ? "in-thread" : ""].join(" ");
  return el("div", { class: classes, "data-testid": "message", "data-ts": item.ts, "data-ephemeral": ephemeral ? "true" : "false" },
    el("div", { class: "avatar" }, author.slice(0, 1).toUpperCase()),
    el("div", { class: "body" },
      ephemeral ? el("div", { class: "only-you", "data-testid": "only-visible-to-you" }, "Only visible to you") : null,
      el("div", { class: "meta" }, el("b", {}, author), system ? null : el("span", { class: "app-tag" }, "APP"), when,
        item.edited ? " (edited)" : ""),
      renderContent(item, ctx)));
}

function channelItems(channel) {
  const mine = state.ephemerals.filter((e) => e.channel === channel.id);
  return [...channel.messages, ...mine].sort((a, b) => parseFloat(a.ts) - parseFloat(b.ts));
}

function renderSidebar() {
  const picker = document.getElementById("user-picker");
  if (!picker.options.length) {
    for (const user of state.users) picker.append(el("option", { value: user.id }, `${user.real_name} (@${user.name})`));
  }
  picker.value = currentUser;
  document.getElementById("user-what").textContent = `${state.me.email} · ${state.me.what}`;
  const nav = document.getElementById("channel-list");
  nav.replaceChildren(el("div", { class: "section" }, "Channels"));
  for (const channel of state.channels) {
    if (channel.kind === "dm") nav.append(el("div", { class: "section" }, "Direct messages"));
    const label = channel.kind === "dm" ? "hubkeeper" : `# ${channel.name}`;
    nav.append(el("a", {
      class: channel.id === currentChannel ? "active" : "",
      "data-testid": `channel-${channel.kind === "dm" ? "dm" : channel.name}`,
      onclick: () => { currentChannel = channel.id; remember(); render(true); },
    }, label));
  }
  const outside = document.getElementById("outside");
  const outsidePicker = document.getElementById("outside-picker");
  if ((state.outside_changes || []).length && !outsidePicker.options.length) {
    for (const change of state.outside_changes) outsidePicker.append(el("option", { value: change.id }, change.label));
    outside.hidden = false;
  }
  if (state.home) {
    nav.append(el("a", { class: currentChannel === "home" ? "active" : "", "data-testid": "channel-home",
      onclick: () => { currentChannel = "home"; remember(); render(true); } }, "hubkeeper · Home"));
  }
}

function renderExamples() {
  // Shortcuts: a click picks the person the example is for and puts its command in the composer.
  const strip = document.getElementById("examples");
  if (strip.childElementCount || !(state.examples || []).length) return;
  strip.append(el("span", { class: "examples-label" }, "Try:"));
  for (const example of state.examples) {
    strip.append(el("button", {
      type: "button",
      class: "example",
      title: example.command,
      "data-testid": "example",
      onclick: () => {
        currentUser = example.user;
        if (currentChannel === "home") currentChannel = state.channels[0].id;
        const input = document.getElementById("composer-input");
        input.value = example.command;
        input.focus();
        remember();
        refresh();
      },
    }, example.label));
  }
}

function renderMessages() {
  const list = document.getElementById("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const title = document.getElementById("channel-title");
  if (currentChannel === "home" && state.home) {
    title.textContent = "hubkeeper · Home";
    list.replaceChildren(...state.home.blocks.map((b) => renderBlock(b, { channel: "home", ts: "", ephemeral: false })));
    return;
  }
  const channel = state.channels.find((c) => c.id === currentChannel) || state.channels[0];
  currentChannel = channel.id;
  title.textContent = channel.kind === "dm" ? "hubkeeper (direct message)" : `# ${channel.name}`;
  const items = channelItems(channel);
  list.replaceChildren(...(items.length ? items.map((m) => renderMessage(m, channel.id))
    : [el("div", { class: "empty" }, "No messages yet. Type /hub help below.")]));
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function renderInput(block) {
  const element = block.element || {};
  const id = `input-${block.block_id}-${element.action_id}`;
  const field = element.multiline
    ? el("textarea", { id, rows: 3, "data-testid": id, "data-block-id": block.block_id, "data-action-id": element.action_id })
    : el("input", { id, "data-testid": id, "data-block-id": block.block_id, "data-action-id": element.action_id });
  if (element.placeholder) field.placeholder = element.placeholder.text;
  if (element.initial_value) field.value = element.initial_value;
  const error = modalErrors[block.block_id];
  return el("div", { class: "block input" }, el("label", { for: id }, String(block.label?.text ?? "")), field,
    error ? el("div", { class: "field-error" }, String(error)) : null);
}

function renderModal() {
  const root = document.getElementById("modal-root");
  const view = state.modal;
  if (!view) { root.replaceChildren(); modalErrors = {}; return; }
  if (root.dataset.viewHash === view.hash && !root.dataset.dirtyErrors) return; // keep what the user typed
  root.dataset.viewHash = view.hash;
  delete root.dataset.dirtyErrors;
  const ctx = { channel: currentChannel, ts: "", ephemeral: false };
  const submit = async () => {
    const values = {};
    for (const field of root.querySelectorAll("[data-block-id]")) {
      (values[field.dataset.blockId] ||= {})[field.dataset.actionId] = field.value;
    }
    const result = await post("/api/view_submission", { user: currentUser, view_id: view.id, values }, "submitted the form");
    modalErrors = (result && result.errors) || {};
    if (Object.keys(modalErrors).length) { root.dataset.dirtyErrors = "1"; renderModal(); }
  };
  const close = () => post("/api/view_close", { user: currentUser }, "closed the form");
  root.replaceChildren(el("div", { class: "overlay" },
    el("div", { class: "modal", role: "dialog", "data-testid": "modal" },
      el("h2", {}, String(view.title?.text ?? "")),
      el("div", { class: "modal-body" }, (view.blocks || []).map((b) => renderBlock(b, ctx))),
      el("div", { class: "modal-footer" },
        el("button", { class: "btn", type: "button", "data-testid": "modal-close", onclick: close }, String(view.close?.text ?? "Cancel")),
        view.submit ? el("button", { class: "btn primary", type: "button", "data-testid": "modal-submit", onclick: submit },
          String(view.submit.text)) : null))));
}

function render(force) {
  if (!state) return;
  const key = `${state.version}|${currentUser}|${currentChannel}`;
  if (!force && key === renderedKey) return;
  renderedKey = key;
  renderSidebar();
  renderExamples();
  renderMessages();
  renderModal();
}

function setStatus(text, isError) {
  const node = document.getElementById("status");
  node.textContent = text;
  node.className = isError ? "status error" : "status";
}

async function post(path, body, what) {
  try {
    const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const result = await response.json();
    if (!response.ok) setStatus(`Could not send: ${result.error}`, true);
    else if (!result.ok) setStatus(`You ${what}; hubkeeper answered HTTP ${result.status || "-"} (${result.error}).`, true);
    else setStatus(`You ${what}; hubkeeper acknowledged (HTTP ${result.status}).`, false);
    await refresh();
    return result;
  } catch (error) {
    setStatus(`Could not reach the console backend: ${error}`, true);
    return null;
  }
}

function remember() {
  const url = new URL(location.href);
  url.searchParams.set("user", currentUser);
  url.searchParams.set("channel", currentChannel);
  history.replaceState(null, "", url);
}

async function refresh() {
  try {
    const response = await fetch(`/api/state?user=${encodeURIComponent(currentUser)}`);
    if (!response.ok) return;
    state = await response.json();
    render(false);
  } catch (error) {
    setStatus(`Could not reach the console backend: ${error}`, true);
  }
}

async function start() {
  if (!currentUser) {
    // Nobody picked yet: the backend answers for the first person in its directory.
    const first = await (await fetch("/api/state")).json();
    currentUser = first.me.id;
  }
  document.getElementById("user-picker").addEventListener("change", (event) => {
    currentUser = event.target.value;
    remember();
    refresh();
  });
  document.getElementById("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = document.getElementById("composer-input");
    const text = input.value.trim();
    if (!text || currentChannel === "home") return;
    input.value = "";
    await post("/api/command", { user: currentUser, channel: currentChannel, text }, `ran ${text.split(" ")[0]}`);
  });
  document.getElementById("outside").addEventListener("submit", async (event) => {
    event.preventDefault();
    const picker = document.getElementById("outside-picker");
    const label = picker.options[picker.selectedIndex]?.text || "";
    try {
      const response = await fetch("/api/outside_change", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ change: picker.value }) });
      const result = await response.json();
      if (result.ok) setStatus(`${label} in Docker Hub's web UI; the activity feed posts it in #general.`, false);
      else setStatus(`The emulator refused it: ${result.error}`, true);
    } catch (error) {
      setStatus(`Could not reach the console backend: ${error}`, true);
    }
  });
  document.getElementById("accept-invite").addEventListener("submit", async (event) => {
    event.preventDefault();
    const invitee = document.getElementById("accept-invitee").value.trim();
    const username = document.getElementById("accept-username").value.trim();
    if (!invitee || !username) return;
    await post("/api/accept_invite", { invitee, username }, `accepted the invite of ${invitee} on Docker Hub as ${username}`);
  });
  remember();
  await refresh();
  setInterval(refresh, 500);
}

start();
