// MathJax 3 configuration: typesets pymdownx.arithmatex output on Markdown pages and the
// $...$ / $$...$$ maths that nbconvert leaves in the executed notebook pages.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    // Typeset everywhere except code: <pre>/<code> are skipped by MathJax's default
    // skipHtmlTags, which covers the notebook pages' code cells and printed outputs.
    ignoreHtmlClass: "tex2jax_ignore",
    processHtmlClass: "tex2jax_process|arithmatex"
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
