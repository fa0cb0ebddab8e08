// axe-core's WCAG 2 A and AA rules over the page as it is now (see accessible() in tests/e2e/conftest.py).
// axe itself is injected before this runs. Forja's pages follow the system's colour scheme: once the emulated scheme
// changed, the theme's class on <html> says it took effect. Animations that end (a dialog fading in) are waited for,
// and transitions are off while axe looks, so it never measures a colour half-way through a change.
async ({ scheme, tags }) => {
  if (document.querySelector(".radix-themes")) {
    const deadline = Date.now() + 5000;
    while (!document.documentElement.classList.contains(scheme) && Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 50));
    }
  }
  const still = document.createElement("style");
  still.textContent = "*, *::before, *::after { transition: none !important; }";
  document.head.append(still);
  try {
    await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
    const ending = document.getAnimations().filter((animation) => animation.effect?.getComputedTiming().endTime !== Infinity);
    await Promise.race([Promise.allSettled(ending.map((animation) => animation.finished)), new Promise((done) => setTimeout(done, 5000))]);
    // The preview's frame holds the person's app, not a page of Forja's: axe checks the frame element, not inside it.
    const result = await axe.run(document, { runOnly: { type: "tag", values: tags }, iframes: false, resultTypes: ["violations"] });
    return result.violations.map((violation) => ({
      rule: violation.id,
      impact: violation.impact,
      help: violation.help,
      nodes: violation.nodes.map((node) => ({ target: node.target.join(" "), summary: node.failureSummary })),
    }));
  } finally {
    still.remove();
  }
}
