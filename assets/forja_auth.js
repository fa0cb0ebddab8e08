// Sign-in, sign-up, password and sign-out forms (loaded on every page). A form marked `data-forja-auth` posts its
// fields as JSON to its action (Forja's /api/auth/... routes), which set or clear the HttpOnly session cookie; then
// the whole page loads again, so the page's socket connects with the new cookie. A refused form shows the server's
// sentence in its `[data-forja-auth-error]` element and keeps what was typed.
document.addEventListener(
  "submit",
  async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-forja-auth")) return;
    event.preventDefault();
    event.stopPropagation();
    const error = form.querySelector("[data-forja-auth-error]");
    const button = form.querySelector("button[type=submit]");
    const fields = Object.fromEntries(new FormData(form).entries());
    const show = (text) => {
      if (error) {
        error.textContent = text;
        error.hidden = !text;
      }
    };
    show("");
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.getAttribute("action"), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(fields),
        credentials: "same-origin",
      });
      const answer = response.status === 204 ? {} : await response.json().catch(() => ({}));
      if (response.ok) {
        const done = form.getAttribute("data-forja-done");
        if (done) {
          show("");
          form.reset();
          const note = form.querySelector("[data-forja-auth-done]");
          if (note) {
            note.textContent = done;
            note.hidden = false;
          }
        } else {
          window.location.assign(answer.next || "/");
        }
        return;
      }
      const detail = answer.detail;
      show(
        typeof detail === "string"
          ? detail
          : Array.isArray(detail) && detail.length
            ? `${(detail[0].loc || []).slice(-1)[0] || "A field"}: ${detail[0].msg}`
            : `Forja answered ${response.status}; try again.`,
      );
    } catch {
      show("Forja did not answer; check your connection and try again.");
    } finally {
      if (button) button.disabled = false;
    }
  },
  true,
);
