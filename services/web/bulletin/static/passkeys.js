// Passkeys: the browser's WebAuthn ceremonies, driven by buttons that say
// where the server's options come from (data-options) and where the answer
// goes (data-finish). A file of its own: the pages' CSP allows no inline script.
"use strict";

(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      // Accept: errors come back as {"message"}, not as a page.
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRFToken": csrf(),
      },
      body: JSON.stringify(body || {}),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(answer.message || `The server answered ${response.status}.`);
    }
    return answer;
  }

  function say(button, message) {
    const place = document.getElementById(button.dataset.status);
    if (place) {
      place.textContent = message;
      place.hidden = false;
    }
  }

  async function run(button) {
    if (!window.PublicKeyCredential) {
      say(button, "This browser cannot use passkeys.");
      return;
    }
    button.disabled = true;
    try {
      const options = await post(button.dataset.options);
      let credential;
      if (button.dataset.ceremony === "create") {
        const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey);
        credential = await navigator.credentials.create({ publicKey });
      } else {
        const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey);
        credential = await navigator.credentials.get({ publicKey });
      }
      const name = document.getElementById("passkey-name");
      const remember = document.getElementById("remember_me");
      const answer = await post(button.dataset.finish, {
        credential: credential.toJSON(),
        name: name ? name.value : undefined,
        remember: remember ? remember.checked : undefined,
        next: new URLSearchParams(window.location.search).get("next"),
      });
      window.location.assign(answer.redirect);
    } catch (error) {
      say(button, error.name === "NotAllowedError" ? "The passkey was not used." : error.message);
      button.disabled = false;
    }
  }

  document.querySelectorAll("[data-passkey]").forEach((button) => {
    button.addEventListener("click", () => run(button));
  });
})();
