// MathJax 3 configuration: typesets the maths that pymdownx.arithmatex marks on every page (the
// executed notebook pages are rendered as Markdown too, so their $...$ goes the same way).
// Only .arithmatex elements are processed: a dollar sign in prose or in printed output stays a
// dollar sign.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex"
  }
};

// Re-typeset after Material's instant navigation swaps the page content.
document$.subscribe(() => {
  if (!window.MathJax || !MathJax.typesetPromise) { return; }
  if (MathJax.startup.output.clearCache) { MathJax.startup.output.clearCache(); }
  MathJax.typesetClear();
  MathJax.texReset();
  MathJax.typesetPromise();
});
