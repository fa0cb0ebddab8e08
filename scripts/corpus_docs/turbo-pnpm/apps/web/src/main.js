import { greeting } from "@repo/ui";

document.querySelector("#app").textContent = greeting("web");
