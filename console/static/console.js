// The console's only script (no framework, nothing fetched): small conveniences on top of plain
// forms that work without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // a decision that cannot be taken back without an undo asks once
  for (const b of document.querySelectorAll("button.danger")) {
    b.addEventListener("click", (e) => {
      if (!window.confirm(b.textContent.trim() + "？")) e.preventDefault();
    });
  }
  // split: the button says how many records are selected
  const split = document.getElementById("btn-split");
  if (split) {
    const boxes = document.querySelectorAll('input[name="records"]');
    const label = split.textContent;
    const update = () => {
      const n = [...boxes].filter((x) => x.checked).length;
      split.disabled = n === 0;
      split.textContent = n ? `${label} (${n})` : label;
    };
    boxes.forEach((x) => x.addEventListener("change", update));
    update();
  }
});
