// Member signatures in the browser (DESIGN §4.3): enrol a passkey (WebAuthn) or an Ed25519
// key made by WebCrypto (non-extractable, kept in IndexedDB), and sign sign-off statements.
// The only script of the site; pages that sign allow it with `script-src 'self'`.
"use strict";

(function () {
  const enc = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const dec = (text) => {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(b64 + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  };

  async function call(method, url, csrf, body) {
    const response = await fetch(url, {
      method, credentials: "same-origin",
      headers: {"X-CSRF-Token": csrf, "Content-Type": "application/json",
                "Accept": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const errors = (data.errors || []).map((e) => (e.field ? e.field + ": " : "") + e.message);
      throw new Error(errors.join("; ") || data.detail || String(response.status));
    }
    return data;
  }

  // ------------------------------------------------------------ browser keys (IndexedDB)
  function store(mode, action) {
    return new Promise((resolve, reject) => {
      const opened = indexedDB.open("lifecycle-signing-keys", 1);
      opened.onupgradeneeded = () => opened.result.createObjectStore("keys");
      opened.onerror = () => reject(opened.error);
      opened.onsuccess = () => {
        const tx = opened.result.transaction("keys", mode);
        const request = action(tx.objectStore("keys"));
        tx.oncomplete = () => resolve(request.result);
        tx.onerror = () => reject(tx.error);
      };
    });
  }
  const saveKey = (keyId, pair) => store("readwrite", (s) => s.put(pair, keyId));
  const loadKey = (keyId) => store("readonly", (s) => s.get(keyId));

  // ------------------------------------------------------------------------- enrolment
  async function enrolPasskey(csrf) {
    const options = await call("POST", "/keys/options", csrf);
    const publicKey = Object.assign({}, options, {
      challenge: dec(options.challenge),
      user: Object.assign({}, options.user, {id: dec(options.user.id)}),
      excludeCredentials: (options.excludeCredentials || []).map(
        (c) => Object.assign({}, c, {id: dec(c.id)})),
    });
    const credential = await navigator.credentials.create({publicKey});
    const response = credential.response;
    await call("POST", "/keys", csrf, {kind: "webauthn", credential: {
      id: credential.id, rawId: enc(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {clientDataJSON: enc(response.clientDataJSON),
                 attestationObject: enc(response.attestationObject),
                 transports: response.getTransports ? response.getTransports() : []},
    }});
  }

  async function enrolBrowserKey(csrf) {
    const pair = await crypto.subtle.generateKey({name: "Ed25519"}, false, ["sign", "verify"]);
    const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
    const key = await call("POST", "/keys", csrf, {kind: "ed25519", public_key: enc(raw)});
    await saveKey(key.key_id, pair);
  }

  function setUpEnrolment(section) {
    const status = section.querySelector("[data-enrol-status]");
    const csrf = section.dataset.csrf;
    section.querySelectorAll("[data-enrol]").forEach((button) => {
      button.addEventListener("click", async () => {
        const passkey = button.dataset.enrol === "passkey";
        if (passkey ? !window.PublicKeyCredential : !(window.crypto && crypto.subtle)) {
          status.textContent = section.dataset.msgUnsupported;
          return;
        }
        status.textContent = section.dataset.msgWorking;
        try {
          await (passkey ? enrolPasskey(csrf) : enrolBrowserKey(csrf));
          status.textContent = section.dataset.msgDone;
          window.location.reload();
        } catch (error) {
          status.textContent = section.dataset.msgFailed + " " + error.message;
        }
      });
    });
  }

  // --------------------------------------------------------------------------- signing
  async function proofFor(made) {
    const message = dec(made.message);
    for (const key of made.keys.filter((k) => k.kind === "ed25519")) {
      const pair = await loadKey(key.key_id).catch(() => undefined);
      if (pair) {
        const signature = await crypto.subtle.sign({name: "Ed25519"}, pair.privateKey, message);
        return {kind: "ed25519", key_id: key.key_id, signature: enc(signature)};
      }
    }
    const passkeys = made.keys.filter((k) => k.kind === "webauthn");
    if (!passkeys.length || !window.PublicKeyCredential) {
      return null;
    }
    const assertion = await navigator.credentials.get({publicKey: {
      challenge: message, rpId: passkeys[0].rp_id, userVerification: "required",
      allowCredentials: passkeys.map((k) => ({type: "public-key", id: dec(k.credential_id)})),
    }});
    const used = passkeys.find((k) => k.credential_id === enc(assertion.rawId));
    return {kind: "webauthn", key_id: used.key_id,
            authenticator_data: enc(assertion.response.authenticatorData),
            client_data_json: enc(assertion.response.clientDataJSON),
            signature: enc(assertion.response.signature)};
  }

  // What the member is about to sign, in the page's language (the server words it), with the
  // button turned into "sign and send": a second press signs.
  function showStatement(form, made) {
    let box = form.querySelector(".statement");
    if (!box) {
      box = document.createElement("div");
      box.className = "statement note";
      box.setAttribute("role", "status");
      form.insertBefore(box, form.querySelector("button[type=submit]"));
    }
    box.replaceChildren(...made.summary.map((line) => {
      const p = document.createElement("p");
      p.textContent = line;
      return p;
    }));
    const button = form.querySelector("button[type=submit]");
    if (button && form.dataset.signLabel) { button.textContent = form.dataset.signLabel; }
  }

  function setUpSigning(form) {
    let shown = null;
    form.addEventListener("submit", async (event) => {
      if (form.dataset.signed === "yes") {
        return;
      }
      event.preventDefault();
      const fields = new FormData(form);
      const query = new URLSearchParams({decision: fields.get("decision") || "",
                                         reason: fields.get("reason") || ""});
      const reason = fields.get("reason") || "";
      try {
        let made;
        if (shown && shown.reason === reason) {
          made = shown.made;
        } else {
          made = await call("GET", form.dataset.statementUrl + "?" + query, fields.get("csrf"));
          if (made.keys.length) {
            shown = {made, reason};
            showStatement(form, made);
            return;  // the member reads what they sign, then presses again
          }
        }
        shown = null;
        const proof = await proofFor(made);
        if (proof) {
          form.querySelector("input[name=statement]").value = JSON.stringify(made.statement);
          form.querySelector("input[name=proof]").value = JSON.stringify(proof);
        }
      } catch (error) {
        if (error && error.name === "NotAllowedError") {
          return;  // the member cancelled the passkey prompt: nothing is sent
        }
        // No statement could be made (the server refuses this sign-off, say): send the form
        // as it is, and the server's answer says why.
      }
      form.dataset.signed = "yes";
      form.submit();
    });
  }

  document.querySelectorAll("#signing-keys").forEach(setUpEnrolment);
  document.querySelectorAll("form[data-statement-url]").forEach(setUpSigning);
})();
