// Passkeys (WebAuthn): login on /login (#passkey-login) and registration on
// /account/security (#passkey-create). The server sends options and checks
// the answers; this file only converts between JSON (base64url) and the
// browser's ArrayBuffers. Errors come back as JSON {code, message, next?}.
(function () {
  "use strict";

  function fromB64u(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }

  function toB64u(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrfToken() {
    var input = document.querySelector('input[name="csrf"]');
    return input ? input.value : "";
  }

  // POSTs JSON; resolves with the answer, rejects with {code, message, next?}.
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrfToken() },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { throw j; }
        return j;
      });
    });
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials &&
      navigator.credentials.create && navigator.credentials.get);
  }

  // Shows a message in the status element: the server's (it has a code), or
  // the page's own words (the browser's errors are technical and in English).
  // A server error may say where to go instead.
  function failed(status, fallback) {
    return function (e) {
      if (e && e.next) { window.location.assign(e.next); return; }
      status.textContent = (e && e.code && e.message) ? e.message : fallback;
      status.classList.add("error");
    };
  }

  function extensions(cred) {
    var results = cred.getClientExtensionResults ? cred.getClientExtensionResults() : {};
    return results && results.credProps ? { credProps: results.credProps } : {};
  }

  function register(button, status) {
    var texts = button.dataset;
    status.classList.remove("error");
    status.textContent = texts.working || "";
    button.disabled = true;
    post("/account/passkeys/register/start")
      .then(function (options) {
        var pk = options.publicKey;
        pk.challenge = fromB64u(pk.challenge);
        pk.user.id = fromB64u(pk.user.id);
        (pk.excludeCredentials || []).forEach(function (c) { c.id = fromB64u(c.id); });
        return navigator.credentials.create({ publicKey: pk });
      })
      .then(function (cred) {
        return post("/account/passkeys/register/finish", {
          id: cred.id,
          rawId: toB64u(cred.rawId),
          type: cred.type,
          response: {
            attestationObject: toB64u(cred.response.attestationObject),
            clientDataJSON: toB64u(cred.response.clientDataJSON)
          },
          extensions: extensions(cred)
        });
      })
      .then(function (done) { window.location.assign(done.next || "/account/security"); })
      .catch(failed(status, texts.failed || ""))
      .then(function () { button.disabled = false; });
  }

  function login(button, status) {
    var texts = button.dataset;
    status.classList.remove("error");
    status.textContent = texts.working || "";
    button.disabled = true;
    post("/login/passkey/start")
      .then(function (options) {
        var pk = options.publicKey;
        pk.challenge = fromB64u(pk.challenge);
        (pk.allowCredentials || []).forEach(function (c) { c.id = fromB64u(c.id); });
        return navigator.credentials.get({ publicKey: pk });
      })
      .then(function (cred) {
        var r = cred.response;
        return post("/login/passkey/finish", {
          id: cred.id,
          rawId: toB64u(cred.rawId),
          type: cred.type,
          response: {
            authenticatorData: toB64u(r.authenticatorData),
            clientDataJSON: toB64u(r.clientDataJSON),
            signature: toB64u(r.signature),
            userHandle: r.userHandle ? toB64u(r.userHandle) : null
          },
          extensions: {}
        });
      })
      .then(function (done) { window.location.assign(done.next || "/"); })
      .catch(failed(status, texts.failed || ""))
      .then(function () { button.disabled = false; });
  }

  function wire(id, statusId, action) {
    var button = document.getElementById(id);
    var status = document.getElementById(statusId);
    if (!button || !status) { return; }
    var section = button.closest("[data-passkey]") || button;
    if (!supported()) {
      if (button.dataset.unsupported) { status.textContent = button.dataset.unsupported; }
      return;
    }
    section.hidden = false;
    button.hidden = false;
    button.disabled = false;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      action(button, status);
    });
  }

  wire("passkey-login", "passkey-login-status", login);
  wire("passkey-create", "passkey-create-status", register);
})();
