/** Hostile names shared by the report tests. */
// Strings that have broken HTML reports elsewhere: element ends, comment and CDATA openers, entity look-alikes,
// attribute breakers, line/paragraph separators, bidi overrides, lone surrogates, NUL.
export const HOSTILE = [
  '</script><script>window.__pwned=1</script>',
  '<!--', '<script>', '</SCRIPT >', '<![CDATA[', ']]>', '"><img src=x onerror=window.__pwned=1>', "' onmouseover='x",
  '&lt;b&gt;', '&amp;', '\u2028\u2029', '\u202ekcatta\u202c', '\u200b\u200d\ufeff', '\ud800', '\udfff', 'a\u0000b\u0007\u001b[31m',
  '`${x}`', '\\u003c/script\\u003e', '<style>*{display:none}</style>', '<svg onload=window.__pwned=1>',
];

