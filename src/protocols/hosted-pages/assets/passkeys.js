// The hosted pages' passkey script, served after @simplewebauthn/browser's bundle as
// {tenant issuer}/passkeys.js (src/protocols/sign-in/passkey.routes.ts). A form with
// `data-passkey="authenticate"` or `"register"` asks `data-options-url` for the WebAuthn options
// (with the form's `challenge` when it has one), runs navigator.credentials.get or .create, puts
// the credential's JSON into the form's `response` field and posts the form.
(() => {
  const webauthn = globalThis.SimpleWebAuthnBrowser;
  for (const form of document.querySelectorAll('form[data-passkey]')) {
    const status = form.querySelector('[data-passkey-status]');
    const say = (message) => {
      if (!status) return;
      status.textContent = message;
      status.hidden = !message;
    };
    if (!webauthn?.browserSupportsWebAuthn()) {
      say('This browser cannot use passkeys.');
      form.querySelector('button')?.setAttribute('disabled', '');
      continue;
    }
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      say('');
      const challenge = form.elements.namedItem('challenge');
      try {
        const answer = await fetch(form.dataset.optionsUrl, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(challenge ? { challenge: challenge.value } : {}),
        });
        const body = await answer.json();
        if (!answer.ok) {
          say(body.detail || 'Passkeys cannot be used right now.');
          return;
        }
        const optionsJSON = body.data;
        const credential =
          form.dataset.passkey === 'register'
            ? await webauthn.startRegistration({ optionsJSON })
            : await webauthn.startAuthentication({ optionsJSON });
        form.elements.namedItem('response').value = JSON.stringify(credential);
        form.submit();
      } catch (error) {
        say(
          error?.name === 'NotAllowedError'
            ? 'The passkey request was cancelled or timed out.'
            : `The passkey could not be used: ${error?.message ?? error}`,
        );
      }
    });
  }
})();
